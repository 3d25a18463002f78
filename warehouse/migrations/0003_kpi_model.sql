-- The KPI model (issue 20): a KPI's type and band, how it adds up over the year, how often it is collected, its
-- numerator and denominator, profiled quarterly targets, forecast outturn and the target its actual was judged
-- against; and a recovery plan (action, owner, date) for an off-target KPI or action. Every column is optional:
-- rows loaded before this migration keep NULL, which reads as today's behaviour (Polarity, Target, Tolerance).
ALTER TABLE kpis ADD COLUMN kpi_type TEXT;
ALTER TABLE kpis ADD COLUMN lower_bound DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN upper_bound DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN aggregation TEXT;
ALTER TABLE kpis ADD COLUMN frequency TEXT;
ALTER TABLE kpis ADD COLUMN numerator DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN denominator DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN target_q1 DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN target_q2 DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN target_q3 DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN target_q4 DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN forecast_outturn DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN period_target DOUBLE PRECISION;
ALTER TABLE kpis ADD COLUMN recovery_action TEXT;
ALTER TABLE kpis ADD COLUMN recovery_owner TEXT;
ALTER TABLE kpis ADD COLUMN recovery_date DATE;
ALTER TABLE kpis ADD COLUMN recovery_date_text TEXT;
ALTER TABLE actions ADD COLUMN recovery_action TEXT;
ALTER TABLE actions ADD COLUMN recovery_owner TEXT;
ALTER TABLE actions ADD COLUMN recovery_date DATE;
ALTER TABLE actions ADD COLUMN recovery_date_text TEXT;
