/* The smallest integration: open a client, record a purchase, ask for hints.
 * Build:  cc minimal.c $(pkg-config --cflags --libs regulars) -o minimal
 * Run:    ./minimal unix:/var/lib/regulars/regularsd.sock /tmp/regulars-spool
 * A lane on another machine (and every Windows till) gives a tls: endpoint, the store's CA and
 * its lane token:
 *         minimal.exe tls:192.0.2.10:7443 C:/ProgramData/Regulars/spool C:/ProgramData/Regulars/ca.crt rgt_... [BUDGET_MS]
 * (200 ms by default over TLS: regulars_open tries its first connection, TLS handshake included,
 * within one budget, and a record made before it is up is spooled, not lost.) */
#include <regulars/regulars.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const char* endpoint = argc > 1 ? argv[1] : "unix:/var/lib/regulars/regularsd.sock";
  const char* spool = argc > 2 ? argv[2] : "/tmp/regulars-spool";
  char options[2048];
  if (argc > 4) /* over TLS: the store's CA and this lane's token; paths with forward slashes (JSON would need a backslash doubled) */
    snprintf(options, sizeof options,
             "{\"endpoint\": \"%s\", \"spool_dir\": \"%s\", \"ca_file\": \"%s\", \"token\": \"%s\","
             " \"terminal\": \"lane-1\", \"budget_ms\": %d}",
             endpoint, spool, argv[3], argv[4], argc > 5 ? atoi(argv[5]) : 200);
  else
    snprintf(options, sizeof options,
             "{\"endpoint\": \"%s\", \"spool_dir\": \"%s\", \"terminal\": \"lane-1\", \"budget_ms\": 50}", endpoint, spool);

  regulars_client* client = NULL;
  regulars_status s = regulars_open(options, &client);
  if (s != REGULARS_OK) {
    fprintf(stderr, "open: %s: %s\n", regulars_strerror(s), regulars_last_error());
    return 1;
  }

  s = regulars_record(client,
                      "{\"type\": \"purchase\", \"customer\": {\"kind\": \"card\", \"value\": \"4000123\"},"
                      " \"lines\": [{\"sku\": \"oat-milk\", \"name\": \"Oat milk\", \"qty\": 1, \"unit_price\": 199}]}");
  if (s != REGULARS_OK) fprintf(stderr, "record: %s: %s\n", regulars_strerror(s), regulars_last_error());

  char* answer = NULL;
  s = regulars_hints(client, "{\"customer\": {\"kind\": \"card\", \"value\": \"4000123\"}, \"locale\": \"en\"}", &answer);
  if (s == REGULARS_OK) {
    printf("%s\n", answer);
    regulars_free(answer);
  } else {
    /* UNAVAILABLE or TIMEOUT: the till simply shows no hints. */
    printf("no hints now: %s\n", regulars_strerror(s));
  }
  regulars_close(client);
  return 0;
}
