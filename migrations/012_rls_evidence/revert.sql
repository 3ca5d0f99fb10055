-- Revert 012_rls_evidence (the recorded runs go with it).
DROP TABLE evidence.rls_runs;
DROP SCHEMA evidence;
