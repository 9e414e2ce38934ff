"""Contact persons: commands (commands.py), reads of the view and the log (queries.py), who sees whom
(access.py), reading sealed events (reading.py), the vCard (vcard.py) and the public events
(publishing.py).

Personal fields are sealed with the person's own key (application/keys.py) on their way into the
event store and opened on their way out. Erasure appends ``PersonErased`` and then deletes the key:
from then on every reading path — card, list, history, as-of, export, vCard, a rebuilt view — finds
the personal fields unreadable and shows them as erased, while links, dates and actors remain.
Properties and categories are business classification, not personal data: stored plain, they
remain too.

Who sees a person: a private person only its owner (by every path, administrators too, except the
personal-data routes); a person linked to counterparties whoever sees the access group of one of
them; an unlinked person everyone who may read counterparties. Links to counterparties the caller
cannot see are left out. Changes need ``counterparty:write`` and the same visibility; the export
and erasure need ``personal-data:admin``.
"""
