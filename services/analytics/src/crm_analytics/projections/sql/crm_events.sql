-- The other services' public events analytics reports join the facts with, and the dated histories
-- read from them (see crm_analytics.projections.crm_events). One set of SQL for chDB and ClickHouse.

-- One row per public event of contacts' counterparty and reference topics and interactions' topic,
-- as it arrived, with only the fields reports use (never free text or contact values: ADR 15). A
-- redelivered event replaces itself (same sorting key), so every reader uses FINAL. Not primary data:
-- the topics hold every event, and `crm analytics rebuild` refills it from them.
CREATE TABLE IF NOT EXISTS crm_events
(
    id              String,                 -- the CloudEvents id
    topic           LowCardinality(String),
    type            LowCardinality(String),
    time            DateTime64(6, 'UTC'),   -- when it happened in its service
    position        UInt64,                 -- in its service's log: the order within one record
    counterparty_id String,                 -- the counterparty it concerns ('' for none)
    subject         String,                 -- the record it is about: a counterparty, an interaction, catalog/code
    fields          Map(String, String),    -- the values reports read, as text
    items           Array(String)           -- the list an event carries: managers, ERP codes, contact types
)
ENGINE = ReplacingMergeTree
ORDER BY (counterparty_id, type, id);

-- The views below are parameterized: each reader passes {as_of:DateTime64(6, 'UTC')}, the moment whose
-- knowledge it wants (events that happened after it are not known), and, where days are cut,
-- {tz:String}, the organisation's time zone (CRM_ANALYTICS_TIME_ZONE).

-- Which counterparty carries each ERP customer code: per counterparty its latest list of ERP codes,
-- and a code two counterparties claimed (moved by a merge) goes to the later claim.
CREATE OR REPLACE VIEW customer_links AS
SELECT code AS customer, argMax(counterparty_id, claimed) AS counterparty_id
FROM
(
    SELECT counterparty_id, argMax(items, position) AS codes, max(position) AS claimed
    FROM crm_events FINAL
    WHERE type = 'crm.contacts.CounterpartyExternalCodesChanged' AND time <= {as_of:DateTime64(6, 'UTC')}
    GROUP BY counterparty_id
)
ARRAY JOIN codes AS code
GROUP BY code;

-- The main manager of each counterparty from each day on (the last assignment of that day), for an
-- ASOF JOIN on the day of a fact: the manager who owned the customer on that day.
CREATE OR REPLACE VIEW manager_days AS
SELECT
    counterparty_id,
    toDate(time, {tz:String}) AS day,
    argMax(fields['main_manager'], position) AS manager
FROM crm_events FINAL
WHERE type IN ('crm.contacts.CounterpartyRegistered', 'crm.contacts.MainManagerAssigned')
  AND time <= {as_of:DateTime64(6, 'UTC')}
GROUP BY counterparty_id, day;

-- Each counterparty as it stood: its main manager, access group and whether it is archived.
CREATE OR REPLACE VIEW counterparties_as_of AS
SELECT
    counterparty_id,
    argMaxIf(fields['main_manager'], position, fields['main_manager'] != '') AS manager,
    argMaxIf(fields['access_group'], position, fields['access_group'] != '') AS access_group,
    argMaxIf(type = 'crm.contacts.CounterpartyArchived', position,
             type IN ('crm.contacts.CounterpartyArchived', 'crm.contacts.CounterpartyRestored')) AS archived,
    argMaxIf(items, position, type = 'crm.contacts.ContactInformationChanged') AS contact_types,
    min(time) AS registered_at
FROM crm_events FINAL
WHERE topic = 'crm.contacts.counterparty.v1' AND counterparty_id != '' AND time <= {as_of:DateTime64(6, 'UTC')}
GROUP BY counterparty_id;

-- The dated history of information sources per counterparty (contacts records the ones told at
-- interactions too): each record is valid from `on` until the next one, and at most `actuality_days`
-- (0: no limit) by its catalog entry in reference_entries.
CREATE OR REPLACE VIEW source_records AS
SELECT counterparty_id, toDate(fields['on']) AS on, argMax(fields['source'], position) AS source
FROM crm_events FINAL
WHERE type = 'crm.contacts.InformationSourceRecorded' AND time <= {as_of:DateTime64(6, 'UTC')}
GROUP BY counterparty_id, on;

-- The reference catalog entries (sources, groups, ...) as they stood: name, actuality, retired.
CREATE OR REPLACE VIEW reference_entries AS
SELECT
    fields['catalog'] AS catalog,
    fields['code'] AS code,
    argMaxIf(fields['name'], position, fields['name'] != '') AS name,
    toUInt32OrZero(argMaxIf(fields['actuality_days'], position, fields['name'] != '')) AS actuality_days,
    argMax(type = 'crm.contacts.ReferenceEntryRetired', position) AS retired
FROM crm_events FINAL
WHERE topic = 'crm.contacts.reference.v1' AND time <= {as_of:DateTime64(6, 'UTC')}
GROUP BY catalog, code;

-- Interactions as they stood: one row per interaction with its latest facts.
CREATE OR REPLACE VIEW interactions_as_of AS
SELECT
    subject AS interaction_id,
    argMax(counterparty_id, position) AS counterparty_id,
    argMax(fields['state'], position) AS state,
    argMax(fields['kind'], position) AS kind,
    argMax(fields['direction'], position) AS direction,
    argMax(fields['responsible'], position) AS responsible,
    parseDateTime64BestEffort(argMax(fields['start'], position), 6, 'UTC') AS start,
    parseDateTime64BestEffort(argMax(fields['end'], position), 6, 'UTC') AS end,
    argMaxIf(fields['source'], position, fields['source'] != '') AS source,
    argMaxIf(fields['outcome_code'], position, fields['outcome_code'] != '') AS outcome_code
FROM crm_events FINAL
WHERE topic = 'crm.interactions.interaction.v1' AND type != 'crm.interactions.InformationSourceProvided'
  AND time <= {as_of:DateTime64(6, 'UTC')}
GROUP BY interaction_id;
