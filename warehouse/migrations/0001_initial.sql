-- The first schema: departments, periods, submissions (audit), the plan rows and validation messages.
-- Written in the SQL that DuckDB and PostgreSQL both accept.
CREATE TABLE departments (
    name        TEXT PRIMARY KEY,
    first_seen  TIMESTAMP NOT NULL
);

CREATE TABLE periods (
    period      TEXT PRIMARY KEY,       -- canonical, e.g. 2024/25 Q2
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL
);

CREATE TABLE submissions (
    id            TEXT PRIMARY KEY,     -- sha256 of content + department + period
    sha256        TEXT NOT NULL,        -- of the workbook bytes
    department    TEXT NOT NULL REFERENCES departments (name),
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
    columns_json  TEXT
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

CREATE INDEX submissions_period ON submissions (period, department, submitted_at);
