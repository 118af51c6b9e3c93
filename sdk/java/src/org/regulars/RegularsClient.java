package org.regulars;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A connection to regularsd through libregulars: hints for the customer at the till, and events
 * recorded durably. Every call returns within the client's time budget (option "budget_ms", 50 ms
 * by default), whether the daemon is fast, slow or gone.
 *
 * <pre>{@code
 * try (RegularsClient client = RegularsClient.open(Map.of("endpoint", "unix:/var/lib/regulars/regularsd.sock"))) {
 *   client.record(Map.of("type", "purchase", "customer", card,
 *                        "lines", List.of(Map.of("sku", "oat-milk", "qty", 1, "unit_price", 199))));
 *   HintsAnswer answer = client.hints(Map.of("customer", card));
 * } catch (RegularsException.Unavailable | RegularsException.Timeout e) {
 *   // show no hints; the till carries on
 * }
 * }</pre>
 *
 * <p>A client may be used from several threads at once. {@link #close()} waits for calls under way
 * and is safe to call twice; a client that is never closed is closed when it is collected.
 */
public final class RegularsClient implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  private final RegularsLibrary library;
  private final Handle handle;
  private final Cleaner.Cleanable cleanable;
  // Calls share the handle; close takes it alone, so no call can run on a closed handle.
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed;

  /** The native handle, closed exactly once: by close() or, when forgotten, by the Cleaner. */
  private static final class Handle implements Runnable {
    private final NativeApi api;
    private final Pointer client;

    Handle(NativeApi api, Pointer client) {
      this.api = api;
      this.client = client;
    }

    @Override
    public void run() {
      api.regulars_close(client);
    }
  }

  private RegularsClient(RegularsLibrary library, Pointer client) {
    this.library = library;
    this.handle = new Handle(library.api, client);
    this.cleanable = CLEANER.register(this, handle);
  }

  // ---- the library ----------------------------------------------------------------------------

  /** The version of the libregulars found by REGULARS_PLUGIN or the system loader, e.g. "0.1.0". */
  public static String libraryVersion() throws RegularsLibraryException {
    return libraryVersion(null);
  }

  /** The version of the libregulars at {@code library} (null: REGULARS_PLUGIN, then the system loader). */
  public static String libraryVersion(Path library) throws RegularsLibraryException {
    return NativeText.fromC(RegularsLibrary.load(library).api.regulars_version());
  }

  // ---- open -----------------------------------------------------------------------------------

  /** Opens a client with the library's defaults. */
  public static RegularsClient open() throws RegularsException {
    return open((Path) null, (String) null);
  }

  /** Opens a client; the options map becomes the options JSON (see {@link RegularsOptions}). */
  public static RegularsClient open(Map<String, ?> options) throws RegularsException {
    return open(null, options);
  }

  public static RegularsClient open(RegularsOptions options) throws RegularsException {
    return open(null, options.toMap());
  }

  /** Opens a client with options given as JSON text (null or "" means all defaults). */
  public static RegularsClient open(String optionsJson) throws RegularsException {
    return open((Path) null, optionsJson);
  }

  /**
   * Opens a client with the libregulars at {@code library}; null finds it through REGULARS_PLUGIN,
   * then the system loader.
   */
  public static RegularsClient open(Path library, Map<String, ?> options) throws RegularsException {
    RegularsLibrary loaded = RegularsLibrary.load(library);
    return openWith(loaded, options == null ? null : toJson(loaded, options, "options"));
  }

  public static RegularsClient open(Path library, RegularsOptions options) throws RegularsException {
    return open(library, options.toMap());
  }

  public static RegularsClient open(Path library, String optionsJson) throws RegularsException {
    return openWith(RegularsLibrary.load(library), optionsJson);
  }

  private static RegularsClient openWith(RegularsLibrary library, String optionsJson) throws RegularsException {
    byte[] options = optionsJson == null ? null : toC(library, optionsJson, "options");
    PointerByReference out = new PointerByReference();
    check(library, library.api.regulars_open(options, out));
    return new RegularsClient(library, out.getValue());
  }

  // ---- calls ----------------------------------------------------------------------------------

  /**
   * Asks for hints about the customer at the till, e.g. {@code {"customer": {"kind": "card",
   * "value": "..."}, "basket": [{"sku": "bread"}], "locale": "en"}}.
   *
   * @throws RegularsException.Unavailable or {@link RegularsException.Timeout}: show no hints now
   */
  public HintsAnswer hints(Map<String, ?> request) throws RegularsException {
    Objects.requireNonNull(request, "request");
    return hints(toJson(library, request, "request"));
  }

  /** Asks for hints with the request as JSON text. */
  public HintsAnswer hints(String requestJson) throws RegularsException {
    Objects.requireNonNull(requestJson, "requestJson");
    byte[] request = toC(library, requestJson, "request");
    String answer = withHandle(client -> {
      PointerByReference out = new PointerByReference();
      int status = library.api.regulars_hints(client, request, out);
      Pointer response = out.getValue();
      try {
        check(library, status);
        return NativeText.fromC(response);
      } finally {
        library.api.regulars_free(response); // NULL on failure, which regulars_free ignores
      }
    });
    try {
      return HintsAnswer.parse(answer);
    } catch (Json.JsonException e) {
      throw localError(library, RegularsStatus.PROTOCOL, "hints answer: " + e.getMessage());
    }
  }

  /**
   * Records one event (purchase, consent, preference, ...; sdk/PROTOCOL.md, "events"). Returns only
   * once the event is durable: committed by the daemon or fsynced to the spool.
   *
   * @throws RegularsException.Timeout the event is durable or not recorded; recording it again with
   *     the same "event_id" is safe
   */
  public void record(Map<String, ?> event) throws RegularsException {
    Objects.requireNonNull(event, "event");
    record(toJson(library, event, "event"));
  }

  /** Records one event given as JSON text. */
  public void record(String eventJson) throws RegularsException {
    Objects.requireNonNull(eventJson, "eventJson");
    byte[] event = toC(library, eventJson, "event");
    withHandle(client -> {
      check(library, library.api.regulars_record(client, event));
      return null;
    });
  }

  /**
   * Closes the client: stops its background work and its connection. Events already acknowledged
   * stay durable; spool writes still under way are finished first. A second close does nothing.
   */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) return;
      closed = true;
      cleanable.clean();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private interface NativeCall<T> {
    T call(Pointer client) throws RegularsException;
  }

  private <T> T withHandle(NativeCall<T> call) throws RegularsException {
    lock.readLock().lock();
    try {
      if (closed) throw new IllegalStateException("the Regulars client is closed");
      return call.call(handle.client);
    } finally {
      lock.readLock().unlock();
      // Until the native call has returned, the Cleaner must not see this client as unreachable.
      Reference.reachabilityFence(this);
    }
  }

  /** Throws the exception for a failed status, with its detail read at once on this thread. */
  private static void check(RegularsLibrary library, int status) throws RegularsException {
    if (status == RegularsStatus.OK.code()) return;
    // The detail's pointer is valid only until the next regulars_* call on this thread.
    String detail = NativeText.fromC(library.api.regulars_last_error());
    String description = NativeText.fromC(library.api.regulars_strerror(status));
    throw RegularsException.forStatus(status, description, detail);
  }

  /** An error found on this side of the boundary, typed as the library would have typed it. */
  private static RegularsException localError(RegularsLibrary library, RegularsStatus status, String detail) {
    String description = NativeText.fromC(library.api.regulars_strerror(status.code()));
    return RegularsException.forStatus(status.code(), description, detail);
  }

  private static String toJson(RegularsLibrary library, Map<String, ?> value, String what)
      throws RegularsException {
    try {
      return Json.write(value, what);
    } catch (Json.JsonException e) {
      throw localError(library, RegularsStatus.INVALID_INPUT, e.getMessage());
    }
  }

  private static byte[] toC(RegularsLibrary library, String json, String what) throws RegularsException {
    try {
      return NativeText.toC(json);
    } catch (IllegalArgumentException e) {
      throw localError(library, RegularsStatus.INVALID_INPUT, what + ": " + e.getMessage());
    }
  }
}
