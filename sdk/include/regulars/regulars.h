/* Regulars — customer memory for retail checkouts. Public C interface of libregulars.
 *
 * Conventions (read these once; every function below follows them):
 *
 *  1. Handles are opaque. A regulars_client is created by regulars_open and destroyed by
 *     regulars_close. regulars_close(NULL) is a harmless no-op.
 *
 *  2. Every call that can fail returns a regulars_status. REGULARS_OK is 0; every other value
 *     is an error. Values are never renumbered or removed; new ones are appended at the end.
 *     regulars_strerror gives a static English description of a status, and
 *     regulars_last_error gives the detailed message of the last failed call on the calling
 *     thread (for example the name of the field that was wrong).
 *
 *  3. Data crosses the boundary as UTF-8 JSON text. The schemas are versioned and documented
 *     in sdk/PROTOCOL.md. Input strings are borrowed for the duration of the call only.
 *
 *  4. Memory returned by the library (the response of regulars_hints) is owned by the caller
 *     and must be released with regulars_free — never with free() or delete.
 *     On a non-OK status no memory is returned and *response_json is set to NULL.
 *
 *  5. No call blocks the till. Every call on a client returns within the client's time budget
 *     (option "budget_ms", default 50), whether the daemon is fast, slow, hung or absent.
 *     When the daemon cannot be reached, regulars_hints returns REGULARS_UNAVAILABLE at once.
 *
 *  6. regulars_record returns REGULARS_OK only when the event is durable: committed by the
 *     daemon, or written and fsynced to the client's spool directory. The spool write is bounded
 *     by the budget as well: it runs on a thread of the library, and when the budget runs out
 *     before the disk has finished, regulars_record returns REGULARS_TIMEOUT. After
 *     REGULARS_TIMEOUT the event is either durable (and will be delivered) or not recorded at all;
 *     recording it again with the same "event_id" is always safe, because the daemon keeps one
 *     event per event_id (regulars_last_error names the event_id, also one the library made).
 *     Spooled events are replayed in order once the daemon is reachable again, also by a later
 *     process opened on the same spool directory. Each event carries a unique "event_id" (made
 *     by the library when absent), so replays and retries are never counted twice. Spooled
 *     events are sealed to the daemon's spool key (learnt at hello and kept in the spool
 *     directory, or read from spool.pub beside a local daemon's socket), so the spool holds
 *     nothing the till itself can open. Until that key is known nothing is spooled: when the
 *     daemon cannot take the event, regulars_record returns REGULARS_UNAVAILABLE. Sealing loads
 *     OpenSSL 3's libcrypto on first use.
 *
 *  7. A client may be used from several threads at once. No C++ exception ever crosses this
 *     interface, and the library installs no signal handlers.
 *
 *  8. Only symbols starting with regulars_ / REGULARS_ are part of the interface. The shared
 *     library's SONAME carries the major version (libregulars.so.0).
 */
#ifndef REGULARS_REGULARS_H
#define REGULARS_REGULARS_H

/* On Windows the functions live in regulars.dll, are exported by name (regulars.def) and use the
 * C calling convention, also for a 32-bit host compiled with another default (/Gz). */
#if defined(_WIN32)
#if defined(REGULARS_BUILDING_LIBRARY)
#define REGULARS_EXPORT __declspec(dllexport)
#else
#define REGULARS_EXPORT __declspec(dllimport)
#endif
#define REGULARS_CALL __cdecl
#elif defined(REGULARS_BUILDING_LIBRARY)
#define REGULARS_EXPORT __attribute__((visibility("default")))
#define REGULARS_CALL
#else
#define REGULARS_EXPORT
#define REGULARS_CALL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time version of this header. Compare with regulars_version() at run time. */
#define REGULARS_VERSION_MAJOR 0
#define REGULARS_VERSION_MINOR 1
#define REGULARS_VERSION_PATCH 0
#define REGULARS_VERSION_NUM \
  ((REGULARS_VERSION_MAJOR << 16) | (REGULARS_VERSION_MINOR << 8) | REGULARS_VERSION_PATCH)

typedef struct regulars_client regulars_client;

/* Status codes. Append only: a value, once published, keeps its number and meaning. */
typedef enum regulars_status {
  REGULARS_OK = 0,
  REGULARS_INVALID_INPUT = 1,    /* the JSON given is malformed or breaks the schema         */
  REGULARS_UNAVAILABLE = 2,      /* the daemon cannot be reached right now                   */
  REGULARS_TIMEOUT = 3,          /* the daemon or the spool disk did not finish in the budget */
  REGULARS_NOT_FOUND = 4,        /* the thing asked for does not exist                        */
  REGULARS_DENIED = 5,           /* refused: authentication, role or consent                  */
  REGULARS_SPOOL_FULL = 6,       /* daemon unreachable and the spool reached its size bound   */
  REGULARS_INTERNAL = 7,         /* an unexpected failure inside the library or the daemon    */
  REGULARS_INVALID_ARGUMENT = 8, /* API misuse: a NULL pointer or a handle that is not ours   */
  REGULARS_PROTOCOL = 9,         /* the daemon speaks an incompatible or corrupt protocol     */
  REGULARS_IO = 10               /* the spool directory cannot be created, read or written    */
} regulars_status;

/* The library's version as "MAJOR.MINOR.PATCH". Static storage; never NULL. */
REGULARS_EXPORT const char* REGULARS_CALL regulars_version(void);

/* A static, English, one-line description of a status. Unknown values give "unknown status". */
REGULARS_EXPORT const char* REGULARS_CALL regulars_strerror(regulars_status status);

/* Detailed message of the last non-OK status returned on the calling thread, e.g.
 * "event.lines[0].qty: must be a number greater than 0". Empty string if none. The pointer
 * stays valid until the next regulars_* call on the same thread. Never NULL. */
REGULARS_EXPORT const char* REGULARS_CALL regulars_last_error(void);

/* Opens a client. options_json is an object (NULL or "" means all defaults):
 *   "endpoint"  "unix:/path/regularsd.sock"   where the daemon listens
 *                                              (default unix:/var/lib/regulars/regularsd.sock)
 *               "tls:HOST:PORT"   a daemon on another machine, over TCP with TLS; then also:
 *   "ca_file"   "/path/ca.crt"  the store's CA (PEM) the daemon's certificate must chain to
 *   "token"     "rgt_..."       this lane's token (regularsctl tokens issue --terminal NAME)
 *   "server_name" "host"        the name the certificate must carry (default: HOST)
 *               OpenSSL 3 (libssl.so.3) is loaded only for a tls: endpoint. A host name's lookup
 *               counts against the budget: with a slow DNS server, use an address or a name in
 *               /etc/hosts.
 *   "spool_dir" "/path"        where undeliverable events are kept, created with its missing
 *                              parents, mode 0700 (default: none; records then fail with
 *                              REGULARS_UNAVAILABLE when the daemon is absent)
 *   "spool_max_bytes" integer  bound on the spool directory's size (default 67108864)
 *   "budget_ms" integer 1..10000  time budget of every call (default 50)
 *   "wait_spin_us" integer 0..5000  how long a call polls for the daemon's answer before its
 *               thread sleeps (default 0: it sleeps at once). Polling spends the caller's CPU
 *               for up to that long per call, and saves the wake-up of a sleeping thread, which
 *               on a virtual machine can cost more than the daemon's answer: a hints answer
 *               takes 150-300 microseconds, so 1000 catches it. Never past the budget.
 *   "terminal"  "lane-1"       fills "terminal" of events that have none
 *   "store"     "main"         fills "store" of events that have none
 *   "cashier"   "c-17"         fills "cashier" of events that have none
 * Connecting is attempted within the budget; a daemon that is absent is not an error (the
 * client keeps trying in the background). On success *out receives a client to be released
 * with regulars_close. On failure *out is set to NULL. */
REGULARS_EXPORT regulars_status REGULARS_CALL regulars_open(const char* options_json, regulars_client** out);

/* Closes a client: stops its background work and closes its connection. Events already
 * acknowledged stay durable: anything still in the spool is replayed by the next client
 * opened on the same spool directory. Spool writes still under way (those of calls that
 * returned REGULARS_TIMEOUT) are finished first, so close waits for the disk. NULL is a no-op. */
REGULARS_EXPORT void REGULARS_CALL regulars_close(regulars_client* client);

/* Asks for hints about the customer at the till. request_json:
 *   {"customer": {"kind": "card", "value": "..."}, "basket": [{"sku": "..."}], "locale": "en"}
 * On REGULARS_OK *response_json receives a NUL-terminated JSON object to be released with
 * regulars_free (see sdk/PROTOCOL.md, "hints"). REGULARS_UNAVAILABLE and REGULARS_TIMEOUT
 * mean "show no hints now"; the till goes on as usual. */
REGULARS_EXPORT regulars_status REGULARS_CALL regulars_hints(regulars_client* client, const char* request_json,
                                               char** response_json);

/* Records one event (purchase, consent, ...; see sdk/PROTOCOL.md, "events"). Returns
 * REGULARS_OK only once the event is durable (convention 6). Missing "event_id", "time",
 * "terminal", "store" and "cashier" are filled in by the library. A malformed event gives
 * REGULARS_INVALID_INPUT and is neither sent nor spooled; so does an event too large to travel
 * in one of the daemon's frames once sealed for the spool (limits.max_frame_bytes, learnt at
 * hello: the event's JSON may take about three quarters of it), with a message naming the limit.
 * REGULARS_TIMEOUT: see convention 6. */
REGULARS_EXPORT regulars_status REGULARS_CALL regulars_record(regulars_client* client, const char* event_json);

/* Releases memory returned by the library. NULL is a no-op. */
REGULARS_EXPORT void REGULARS_CALL regulars_free(void* p);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* REGULARS_REGULARS_H */
