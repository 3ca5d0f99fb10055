-- 012_rls_evidence: the recorded runs of the RLS harness (WS4), the evidence the gate of 007 reads.
--
-- A schema of its own, not platform: 007 requires restrictive policies on every platform table, and this is
-- no tenant data. Owned by the owner; the service role (a member of the owner) writes it; no app grants.

CREATE SCHEMA evidence;
COMMENT ON SCHEMA evidence IS 'Evidence for the gates of gated changes (recorded harness runs); no app access';

CREATE TABLE evidence.rls_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    kind        text        NOT NULL,
    fingerprint text        NOT NULL,
    passed      boolean     NOT NULL,
    checks      integer     NOT NULL,
    mismatches  integer     NOT NULL,
    summary     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    run_by      text        NOT NULL DEFAULT session_user,
    CONSTRAINT rls_runs_pkey PRIMARY KEY (id),
    CONSTRAINT rls_runs_kind_known CHECK (kind IN ('test', 'rehearsal')),
    CONSTRAINT rls_runs_fingerprint_sha256 CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    CONSTRAINT rls_runs_counts CHECK (checks >= 0 AND mismatches >= 0 AND mismatches <= checks),
    CONSTRAINT rls_runs_passed_means_no_mismatch CHECK (NOT passed OR (mismatches = 0 AND checks > 0)),
    CONSTRAINT rls_runs_time_order CHECK (finished_at >= started_at),
    CONSTRAINT rls_runs_summary_object CHECK (jsonb_typeof(summary) = 'object')
);
COMMENT ON TABLE evidence.rls_runs IS
    'One row per run of the RLS harness (orgbase rls test, orgbase migrate rehearse): the WS4 gate reads the newest';
COMMENT ON COLUMN evidence.rls_runs.fingerprint IS
    'SHA-256 of the platform catalog the run judged (orgbase.rls.fingerprint); for a rehearsal, the schema before the change';
-- The gate reads the newest run.
CREATE INDEX rls_runs_started_at_idx ON evidence.rls_runs (started_at DESC, id DESC);
