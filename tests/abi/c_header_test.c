/* The public header compiled as plain C (built as C99 and as C89 with -pedantic -Werror), in
 * the manner of leveldb's db/c_test.c. It pins the interface integrators compile against:
 *  - every function, through a pointer of its exact published type (a changed signature
 *    stops the build);
 *  - every status value, by number (values are append-only, never renumbered);
 *  - the calls that must be harmless without a daemon: version, strerror, close(NULL),
 *    free(NULL), bad JSON, NULL handles.
 * Written in C89: declarations first, no // comments. */
#include <regulars/regulars.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Every function with its published type. */
typedef const char* (*version_fn)(void);
typedef const char* (*strerror_fn)(regulars_status);
typedef const char* (*last_error_fn)(void);
typedef regulars_status (*open_fn)(const char*, regulars_client**);
typedef void (*close_fn)(regulars_client*);
typedef regulars_status (*hints_fn)(regulars_client*, const char*, char**);
typedef regulars_status (*record_fn)(regulars_client*, const char*);
typedef void (*free_fn)(void*);

struct status_number {
  regulars_status status;
  int number;
  const char* name;
};

/* The published numbering. Appending a status means appending a line here. */
static const struct status_number statuses[] = {
    {REGULARS_OK, 0, "REGULARS_OK"},
    {REGULARS_INVALID_INPUT, 1, "REGULARS_INVALID_INPUT"},
    {REGULARS_UNAVAILABLE, 2, "REGULARS_UNAVAILABLE"},
    {REGULARS_TIMEOUT, 3, "REGULARS_TIMEOUT"},
    {REGULARS_NOT_FOUND, 4, "REGULARS_NOT_FOUND"},
    {REGULARS_DENIED, 5, "REGULARS_DENIED"},
    {REGULARS_SPOOL_FULL, 6, "REGULARS_SPOOL_FULL"},
    {REGULARS_INTERNAL, 7, "REGULARS_INTERNAL"},
    {REGULARS_INVALID_ARGUMENT, 8, "REGULARS_INVALID_ARGUMENT"},
    {REGULARS_PROTOCOL, 9, "REGULARS_PROTOCOL"},
    {REGULARS_IO, 10, "REGULARS_IO"}};

#ifdef __STDC_VERSION__
static const long stdc_version = (long)__STDC_VERSION__;
#else
static const long stdc_version = 0L; /* C89 defines no __STDC_VERSION__ */
#endif

#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])

static void check_statuses(strerror_fn strerror_p) {
  size_t i, j;
  const char* unknown = strerror_p((regulars_status)9999);
  CHECK(unknown != NULL && strcmp(unknown, "unknown status") == 0);
  for (i = 0; i < STATUS_COUNT; ++i) {
    const char* text = strerror_p(statuses[i].status);
    if ((int)statuses[i].status != statuses[i].number) {
      fprintf(stderr, "%s is %d, published as %d\n", statuses[i].name, (int)statuses[i].status, statuses[i].number);
      ++failures;
    }
    CHECK(text != NULL && text[0] != '\0');
    if (text != NULL && strcmp(text, unknown) == 0) {
      fprintf(stderr, "regulars_strerror(%s) has no description of its own\n", statuses[i].name);
      ++failures;
    }
    for (j = 0; j < i && text != NULL; ++j) {
      const char* other = strerror_p(statuses[j].status);
      if (other != NULL && strcmp(text, other) == 0) {
        fprintf(stderr, "%s and %s share the description \"%s\"\n", statuses[i].name, statuses[j].name, text);
        ++failures;
      }
    }
  }
}

static void check_version(version_fn version_p) {
  char expected[64];
  const char* v = version_p();
  sprintf(expected, "%d.%d.%d", REGULARS_VERSION_MAJOR, REGULARS_VERSION_MINOR, REGULARS_VERSION_PATCH);
  CHECK(v != NULL);
  if (v != NULL && strcmp(v, expected) != 0) {
    fprintf(stderr, "regulars_version() is \"%s\" but the header is %s\n", v, expected);
    ++failures;
  }
  CHECK(REGULARS_VERSION_NUM ==
        ((REGULARS_VERSION_MAJOR << 16) | (REGULARS_VERSION_MINOR << 8) | REGULARS_VERSION_PATCH));
}

int main(void) {
  version_fn version_p = regulars_version;
  strerror_fn strerror_p = regulars_strerror;
  last_error_fn last_error_p = regulars_last_error;
  open_fn open_p = regulars_open;
  close_fn close_p = regulars_close;
  hints_fn hints_p = regulars_hints;
  record_fn record_p = regulars_record;
  free_fn free_p = regulars_free;

  regulars_client* client = (regulars_client*)&failures; /* a non-NULL value open must clear */
  char* response = (char*)&failures;                     /* likewise for hints */
  regulars_status s;

  check_version(version_p);
  check_statuses(strerror_p);
  CHECK(last_error_p() != NULL);

  /* NULL is a no-op for close and free. */
  close_p(NULL);
  free_p(NULL);

  /* Bad options: a typed error, a message, and no handle. */
  s = open_p("{this is not json", &client);
  CHECK(s == REGULARS_INVALID_INPUT);
  CHECK(client == NULL);
  CHECK(last_error_p() != NULL && last_error_p()[0] != '\0');

  /* API misuse: NULL handles and NULL out-pointers are refused, not crashed on. */
  s = hints_p(NULL, "{\"customer\": {\"kind\": \"card\", \"value\": \"4000123\"}}", &response);
  CHECK(s == REGULARS_INVALID_ARGUMENT);
  CHECK(response == NULL);
  s = record_p(NULL, "{\"type\": \"consent\"}");
  CHECK(s == REGULARS_INVALID_ARGUMENT);
  s = open_p("{}", NULL);
  CHECK(s == REGULARS_INVALID_ARGUMENT);

  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  printf("regulars.h OK as C (__STDC_VERSION__ %ld), library %s\n", stdc_version, version_p());
  return EXIT_SUCCESS;
}
