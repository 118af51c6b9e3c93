package org.regulars;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The options of {@code regulars_open} (regulars.h) as a builder. Options left unset are left out
 * of the JSON, so the library's defaults apply. A plain {@code Map} or raw JSON works as well.
 *
 * <pre>{@code
 * RegularsOptions options = new RegularsOptions()
 *     .endpoint(RegularsOptions.localEndpoint(Path.of("/var/lib/regulars")))
 *     .spoolDir(Path.of("/var/spool/regulars")).terminal("lane-1");
 * }</pre>
 */
public final class RegularsOptions {
  private final Map<String, Object> values = new LinkedHashMap<>();

  /** The endpoint of a daemon started with {@code --data-dir dataDir} on this machine. */
  public static String localEndpoint(Path dataDir) {
    return "unix:" + dataDir.resolve("regularsd.sock");
  }

  /** "unix:/path/regularsd.sock" or "tls:HOST:PORT" (default unix:/var/lib/regulars/regularsd.sock). */
  public RegularsOptions endpoint(String endpoint) {
    return set("endpoint", endpoint);
  }

  /** Where events the daemon cannot take now are kept, fsynced, until it can. */
  public RegularsOptions spoolDir(Path spoolDir) {
    return set("spool_dir", spoolDir.toString());
  }

  /** The bound on the spool directory's size (default 64 MiB). */
  public RegularsOptions spoolMaxBytes(long bytes) {
    return set("spool_max_bytes", bytes);
  }

  /** The time budget of every call, 1..10000 ms (default 50). */
  public RegularsOptions budgetMs(int milliseconds) {
    return set("budget_ms", milliseconds);
  }

  /** Fills "terminal" of events and requests that have none. */
  public RegularsOptions terminal(String terminal) {
    return set("terminal", terminal);
  }

  /** Fills "store" of events and requests that have none. */
  public RegularsOptions store(String store) {
    return set("store", store);
  }

  /** Fills "cashier" of events and requests that have none. */
  public RegularsOptions cashier(String cashier) {
    return set("cashier", cashier);
  }

  /** For a tls: endpoint, the store's CA (PEM) the daemon's certificate must chain to. */
  public RegularsOptions caFile(Path caFile) {
    return set("ca_file", caFile.toString());
  }

  /** For a tls: endpoint, this lane's token (regularsctl tokens issue --terminal NAME). */
  public RegularsOptions token(String token) {
    return set("token", token);
  }

  /** For a tls: endpoint, the name the certificate must carry (default: the host). */
  public RegularsOptions serverName(String serverName) {
    return set("server_name", serverName);
  }

  /** Any option by its JSON name, also one newer than this binding. */
  public RegularsOptions set(String name, Object value) {
    values.put(name, value);
    return this;
  }

  /** The options as the map that becomes the options JSON. */
  public Map<String, Object> toMap() {
    return Collections.unmodifiableMap(values);
  }
}
