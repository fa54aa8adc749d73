-- The report month reaches SQL here and nowhere else (SPEC section 1: every report month is
-- computed as of its last day, and facts dated after that day are not known yet). Each clean
-- table is read through a view that keeps what was known on that day: RawTable.known_sql() in
-- assets/contracts.py, from the table's dating column (known_from) and later facts.
CREATE OR REPLACE MACRO report_month() AS '${report_month}';
CREATE OR REPLACE MACRO as_of_date() AS last_day(DATE '${report_month}-01');
-- Overdue as of D (SPEC sections 3 and 5): something outstanding and due before D (due on D is not yet
-- overdue). The one definition the schedule's status, unit status, notices and their checks use.
CREATE OR REPLACE MACRO is_overdue(due_date, outstanding) AS outstanding > 0 AND due_date < as_of_date();
