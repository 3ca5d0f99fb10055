-- Revert 005_create_audit_logs.
DROP FUNCTION platform.purge_audit_logs(interval);
DROP TABLE platform.audit_logs;
DROP FUNCTION platform.audit_logs_refuse_change();
