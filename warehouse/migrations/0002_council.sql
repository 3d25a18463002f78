-- Councils: one warehouse serves several councils. A department belongs to a council (two councils may both have
-- a Finance), and so does every submission. What is already here belongs to the council 'default', the one
-- council of an install that never named it (actionplan.councils.DEFAULT_COUNCIL); its submission ids stay.
--
-- DuckDB cannot change a primary key, drop a constraint, or rename or drop a table a foreign key points at, so the
-- tables are rebuilt: copied aside, dropped children first, created anew, filled back, and the copies dropped.
-- PostgreSQL runs the same statements. The migration is one transaction: it all happens or none of it does.
CREATE TABLE departments_v1 AS SELECT * FROM departments;
CREATE TABLE submissions_v1 AS SELECT * FROM submissions;
CREATE TABLE objectives_v1 AS SELECT * FROM objectives;
CREATE TABLE actions_v1 AS SELECT * FROM actions;
CREATE TABLE kpis_v1 AS SELECT * FROM kpis;
CREATE TABLE messages_v1 AS SELECT * FROM messages;

DROP TABLE messages;
DROP TABLE kpis;
DROP TABLE actions;
DROP TABLE objectives;
DROP TABLE submissions;
DROP TABLE departments;

CREATE TABLE departments (
    council     TEXT NOT NULL,
    name        TEXT NOT NULL,
    first_seen  TIMESTAMP NOT NULL,
    PRIMARY KEY (council, name)
);

CREATE TABLE submissions (
    id            TEXT PRIMARY KEY,     -- sha256 of content + department + period (+ council, unless 'default')
    sha256        TEXT NOT NULL,        -- of the workbook bytes
    council       TEXT NOT NULL,
    department    TEXT NOT NULL,
    period        TEXT NOT NULL REFERENCES periods (period),
    file_name     TEXT,
    layout        TEXT,
    plan_title    TEXT,
    as_at         DATE,
    contact       TEXT,
    submitted_by  TEXT,
    submitted_at  TIMESTAMP NOT NULL,
    loaded_at     TIMESTAMP NOT NULL,
    outcome       TEXT NOT NULL,        -- accepted (rejections never reach the warehouse)
    warnings      INTEGER NOT NULL,
    columns_json  TEXT,
    FOREIGN KEY (council, department) REFERENCES departments (council, name)
);

CREATE TABLE objectives (
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    sheet         TEXT NOT NULL,
    row_number    INTEGER NOT NULL,
    ref           TEXT NOT NULL,
    objective     TEXT,
    theme         TEXT,
    delivered_by  TEXT,
    lead_officer  TEXT,
    status        TEXT NOT NULL,
    status_text   TEXT,
    commentary    TEXT,
    extra_json    TEXT,
    PRIMARY KEY (submission_id, sheet, row_number)
);

CREATE TABLE actions (
    submission_id          TEXT NOT NULL REFERENCES submissions (id),
    sheet                  TEXT NOT NULL,
    row_number             INTEGER NOT NULL,
    ref                    TEXT NOT NULL,
    objective              TEXT,
    theme                  TEXT,
    action                 TEXT,
    lead_officer           TEXT,
    due_date               DATE,
    due_date_text          TEXT,
    revised_due_date       DATE,
    revised_due_date_text  TEXT,
    effective_due_date     DATE,
    status                 TEXT NOT NULL,
    status_text            TEXT,
    progress_update        TEXT,
    overdue                BOOLEAN NOT NULL,
    slipped                BOOLEAN NOT NULL,
    exception              BOOLEAN NOT NULL,
    exception_reason       TEXT,
    extra_json             TEXT,
    PRIMARY KEY (submission_id, sheet, row_number)
);

CREATE TABLE kpis (
    submission_id  TEXT NOT NULL REFERENCES submissions (id),
    sheet          TEXT NOT NULL,
    row_number     INTEGER NOT NULL,
    ref            TEXT NOT NULL,
    measure        TEXT,
    polarity       TEXT,
    unit           TEXT,
    lead_officer   TEXT,
    target         DOUBLE PRECISION,
    target_text    TEXT,
    actual         DOUBLE PRECISION,
    actual_text    TEXT,
    tolerance      DOUBLE PRECISION,
    comment        TEXT,
    performance    TEXT NOT NULL,
    extra_json     TEXT,
    PRIMARY KEY (submission_id, sheet, row_number)
);

CREATE TABLE messages (
    submission_id  TEXT NOT NULL REFERENCES submissions (id),
    seq            INTEGER NOT NULL,
    level          TEXT NOT NULL,
    code           TEXT NOT NULL,
    sheet          TEXT,
    cell           TEXT,
    value          TEXT,
    message        TEXT NOT NULL,
    PRIMARY KEY (submission_id, seq)
);

INSERT INTO departments (council, name, first_seen)
SELECT 'default', name, first_seen FROM departments_v1;

INSERT INTO submissions (id, sha256, council, department, period, file_name, layout, plan_title, as_at, contact,
                         submitted_by, submitted_at, loaded_at, outcome, warnings, columns_json)
SELECT id, sha256, 'default', department, period, file_name, layout, plan_title, as_at, contact,
       submitted_by, submitted_at, loaded_at, outcome, warnings, columns_json
FROM submissions_v1;

INSERT INTO objectives (submission_id, sheet, row_number, ref, objective, theme, delivered_by, lead_officer, status,
                        status_text, commentary, extra_json)
SELECT submission_id, sheet, row_number, ref, objective, theme, delivered_by, lead_officer, status,
       status_text, commentary, extra_json
FROM objectives_v1;

INSERT INTO actions (submission_id, sheet, row_number, ref, objective, theme, action, lead_officer, due_date,
                     due_date_text, revised_due_date, revised_due_date_text, effective_due_date, status, status_text,
                     progress_update, overdue, slipped, exception, exception_reason, extra_json)
SELECT submission_id, sheet, row_number, ref, objective, theme, action, lead_officer, due_date,
       due_date_text, revised_due_date, revised_due_date_text, effective_due_date, status, status_text,
       progress_update, overdue, slipped, exception, exception_reason, extra_json
FROM actions_v1;

INSERT INTO kpis (submission_id, sheet, row_number, ref, measure, polarity, unit, lead_officer, target, target_text,
                  actual, actual_text, tolerance, comment, performance, extra_json)
SELECT submission_id, sheet, row_number, ref, measure, polarity, unit, lead_officer, target, target_text,
       actual, actual_text, tolerance, comment, performance, extra_json
FROM kpis_v1;

INSERT INTO messages (submission_id, seq, level, code, sheet, cell, value, message)
SELECT submission_id, seq, level, code, sheet, cell, value, message FROM messages_v1;

DROP TABLE messages_v1;
DROP TABLE kpis_v1;
DROP TABLE actions_v1;
DROP TABLE objectives_v1;
DROP TABLE submissions_v1;
DROP TABLE departments_v1;

-- The current submission of each council's department in a period is found through this index.
CREATE INDEX submissions_period ON submissions (period, council, department, submitted_at);
