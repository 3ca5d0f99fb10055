/*
 * orgbase_seal: the request context of one transaction, sealed where the app role cannot write it.
 *
 * Why. 007's policies need, on every statement, "the organization of this request, if its user holds this
 * permission there". Read from app.current_org_id alone, anyone who can run SQL as the app role could name
 * another organization (set_config is open to every role); checked against the membership tables on every
 * statement, the lookup costs more than the query it guards (docs/rls.md, "Measured"). Here the check is
 * made once, when the context is bound (platform.auth_bind, platform.bind_context: SECURITY DEFINER
 * functions, the only callers of seal()), and its result is kept in this backend's memory for the rest of
 * the transaction, where a policy reads it back for the price of a function call.
 *
 * The same seal carries the tables that shadow mode (migration 014) watches for the session, read from its
 * table once when the context is bound instead of by a definer on every statement.
 *
 * Lifetime. A seal belongs to the transaction that made it: it is cleared when that transaction commits,
 * aborts or is prepared, and when the subtransaction that made it aborts (fail closed: a rolled-back
 * savepoint leaves no context rather than an older one). Readers also compare the top-level transaction's
 * local id, so a seal can never be read by a later transaction even if a callback were missed.
 *
 * Parallel workers do not share this memory: the readers are PARALLEL RESTRICTED (the leader evaluates them,
 * in the InitPlan where 007's policies call them).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

PG_MODULE_MAGIC;

typedef struct Seal
{
	bool		active;
	LocalTransactionId lxid;	/* top-level transaction that sealed */
	SubTransactionId subid;		/* (sub)transaction that owns the seal */
	bool		has_org;
	pg_uuid_t	org_id;
	int			npermissions;
	text	  **permissions;	/* in seal_context */
	int			nwatched;
	text	  **watched;		/* in seal_context */
} Seal;

static Seal seal;
static MemoryContext seal_context = NULL;
static bool callbacks_registered = false;

static void
seal_clear(void)
{
	seal.active = false;
	seal.has_org = false;
	seal.npermissions = 0;
	seal.permissions = NULL;
	seal.nwatched = 0;
	seal.watched = NULL;
	if (seal_context != NULL)
		MemoryContextReset(seal_context);
}

static void
seal_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			seal_clear();
			break;
		default:
			break;
	}
}

static void
seal_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (!seal.active || seal.subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		seal.subid = parentSubid;	/* the parent owns it now */
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		seal_clear();
}

/* The seal of the current transaction, or NULL. */
static Seal *
current_seal(void)
{
	if (seal.active && seal.lxid == MyProc->lxid)
		return &seal;
	return NULL;
}

PG_FUNCTION_INFO_V1(orgbase_seal_set);
PG_FUNCTION_INFO_V1(orgbase_seal_org_if_can);
PG_FUNCTION_INFO_V1(orgbase_seal_watching);

/* The elements of a text[] argument, checked (one dimension, no NULL); none for a NULL argument. */
static void
text_elements(FunctionCallInfo fcinfo, int argno, const char *what, Datum **elems, int *n)
{
	bool	   *nulls;

	*elems = NULL;
	*n = 0;
	if (PG_ARGISNULL(argno))
		return;
	if (ARR_NDIM(PG_GETARG_ARRAYTYPE_P(argno)) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT, elems, &nulls, n);
	for (int i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain NULL", what)));
}

static text **
copy_texts(Datum *elems, int n)
{
	text	  **out = n > 0 ? palloc(sizeof(text *) * n) : NULL;

	for (int i = 0; i < n; i++)
		out[i] = DatumGetTextPCopy(elems[i]);
	return out;
}

static bool
texts_contain(text **list, int n, text *wanted)
{
	Size		len = VARSIZE_ANY_EXHDR(wanted);

	for (int i = 0; i < n; i++)
		if (VARSIZE_ANY_EXHDR(list[i]) == len && memcmp(VARDATA_ANY(list[i]), VARDATA_ANY(wanted), len) == 0)
			return true;
	return false;
}

/*
 * seal(user_id uuid, org_id uuid, permissions text[], watched text[]): this transaction's context. user_id
 * NULL: no context (clears the seal). org_id: the organization the user was found to be a member of when the
 * context was bound (NULL: none), permissions: what the user holds there; watched: the tables shadow mode
 * watches for this session (014), read once per request instead of once per statement.
 */
Datum
orgbase_seal_set(PG_FUNCTION_ARGS)
{
	Datum	   *permissions;
	Datum	   *watched;
	int			npermissions;
	int			nwatched;
	MemoryContext old;

	if (!IsTransactionState())
		ereport(ERROR, (errcode(ERRCODE_INVALID_TRANSACTION_STATE), errmsg("orgbase_seal.seal() needs a transaction")));

	/* Validate everything before the old seal is touched: an error leaves it as it was. */
	text_elements(fcinfo, 2, "permissions", &permissions, &npermissions);
	text_elements(fcinfo, 3, "watched", &watched, &nwatched);

	if (!callbacks_registered)
	{
		RegisterXactCallback(seal_xact_callback, NULL);
		RegisterSubXactCallback(seal_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (seal_context == NULL)
		seal_context = AllocSetContextCreate(TopMemoryContext, "orgbase_seal", ALLOCSET_SMALL_SIZES);

	seal_clear();
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();

	old = MemoryContextSwitchTo(seal_context);
	seal.has_org = !PG_ARGISNULL(1);
	if (seal.has_org)
	{
		seal.org_id = *PG_GETARG_UUID_P(1);
		seal.npermissions = npermissions;
		seal.permissions = copy_texts(permissions, npermissions);
	}
	seal.nwatched = nwatched;
	seal.watched = copy_texts(watched, nwatched);
	MemoryContextSwitchTo(old);

	seal.lxid = MyProc->lxid;
	seal.subid = GetCurrentSubTransactionId();
	seal.active = true;
	PG_RETURN_VOID();
}

/* org_if_can(permission): the sealed organization if its user holds the permission there, else NULL. */
Datum
orgbase_seal_org_if_can(PG_FUNCTION_ARGS)
{
	Seal	   *s = current_seal();
	pg_uuid_t  *out;

	if (s == NULL || !s->has_org || !texts_contain(s->permissions, s->npermissions, PG_GETARG_TEXT_PP(0)))
		PG_RETURN_NULL();
	out = palloc(sizeof(pg_uuid_t));
	memcpy(out, &s->org_id, sizeof(pg_uuid_t));
	PG_RETURN_UUID_P(out);
}

/* watching(table): whether shadow mode watches the table for this transaction's context; NULL unsealed. */
Datum
orgbase_seal_watching(PG_FUNCTION_ARGS)
{
	Seal	   *s = current_seal();

	if (s == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(texts_contain(s->watched, s->nwatched, PG_GETARG_TEXT_PP(0)));
}
