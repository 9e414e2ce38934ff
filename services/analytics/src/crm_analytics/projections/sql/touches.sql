-- Touches: the completed interactions with a counterparty as the CRM knew them at {as_of}, each dated
-- by its `end` in the organisation's time zone {tz:String} (`day`), with the counterparty's information
-- source valid on that day (`source`, '' for none): the latest record of source_records on or before
-- the day, while the day is before `on` + the source's actuality_days (0: no limit). Only the
-- counterparties of the caller's scope (the condition of crm_analytics.application.scope.SCOPE_SQL,
-- written in by the caller as __SCOPE__), only days {first:Date} … {last:Date}. Read by
-- effectiveness.sql and attribution.sql as the common table `touches`.
SELECT
    t.interaction_id AS interaction_id,
    t.counterparty_id AS counterparty_id,
    t.kind AS kind,
    t.responsible AS manager,
    t.end AS end,
    t.day AS day,
    if(s.source = '' OR (e.actuality_days > 0 AND t.day >= s.on + toIntervalDay(e.actuality_days)), '', s.source)
        AS source
FROM
(
    SELECT interaction_id, counterparty_id, kind, responsible, end, toDate(end, {tz:String}) AS day
    FROM interactions_as_of(as_of = {as_of:DateTime64(6, 'UTC')})
    WHERE state = 'completed' AND counterparty_id != '' AND day BETWEEN {first:Date} AND {last:Date} AND __SCOPE__
) AS t
ASOF LEFT JOIN source_records(as_of = {as_of:DateTime64(6, 'UTC')}) AS s
    ON t.counterparty_id = s.counterparty_id AND t.day >= s.on
LEFT JOIN
(
    SELECT code, actuality_days FROM reference_entries(as_of = {as_of:DateTime64(6, 'UTC')}) WHERE catalog = 'sources'
) AS e
    ON e.code = s.source
