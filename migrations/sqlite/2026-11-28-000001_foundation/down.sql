DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE user_scopes;
DROP TABLE users;
DROP TABLE org_units;
