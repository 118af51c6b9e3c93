package org.regulars;

/**
 * A call into libregulars returned a status other than OK. There is one subclass per status,
 * nested here ({@code RegularsException.Unavailable}, ...); a status newer than this binding is a
 * plain {@code RegularsException} that still carries its number.
 *
 * <p>For hints, {@link Unavailable} and {@link Timeout} mean "show no hints now": the till carries
 * on as usual.
 */
public class RegularsException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String description;
  private final String detail;

  /**
   * @param status the numeric status
   * @param description {@code regulars_strerror}'s one-line description of the status
   * @param detail {@code regulars_last_error}'s detail of this failure (may be empty)
   */
  public RegularsException(int status, String description, String detail) {
    super(compose(status, description, detail));
    this.status = status;
    this.description = description == null ? "" : description;
    this.detail = detail == null ? "" : detail;
  }

  /** A failure that has no status: see {@link RegularsLibraryException}. */
  RegularsException(String message, Throwable cause) {
    super(message, cause);
    this.status = -1;
    this.description = message;
    this.detail = "";
  }

  /** The numeric status, also for a status newer than this binding; -1 when there is none. */
  public int status() {
    return status;
  }

  /** The status as an enum constant, or null when it is newer than this binding (or none). */
  public RegularsStatus statusCode() {
    return RegularsStatus.of(status);
  }

  /** The status's name in regulars.h, e.g. "REGULARS_INVALID_INPUT"; empty when there is none. */
  public String statusName() {
    return status < 0 ? "" : RegularsStatus.nameOf(status);
  }

  /** {@code regulars_strerror}'s description of the status. */
  public String description() {
    return description;
  }

  /** {@code regulars_last_error}'s detail, e.g. "event.lines[0].qty: must be a number greater than 0". */
  public String detail() {
    return detail;
  }

  private static String compose(int status, String description, String detail) {
    String text = RegularsStatus.nameOf(status) + " (" + status + "): " + description;
    return detail == null || detail.isEmpty() ? text : text + ": " + detail;
  }

  /** The exception for a status: its own subclass, or the base type for an unknown status. */
  public static RegularsException forStatus(int status, String description, String detail) {
    RegularsStatus known = RegularsStatus.of(status);
    if (known == null) return new RegularsException(status, description, detail);
    switch (known) {
      case INVALID_INPUT: return new InvalidInput(status, description, detail);
      case UNAVAILABLE: return new Unavailable(status, description, detail);
      case TIMEOUT: return new Timeout(status, description, detail);
      case NOT_FOUND: return new NotFound(status, description, detail);
      case DENIED: return new Denied(status, description, detail);
      case SPOOL_FULL: return new SpoolFull(status, description, detail);
      case INTERNAL: return new Internal(status, description, detail);
      case INVALID_ARGUMENT: return new InvalidArgument(status, description, detail);
      case PROTOCOL: return new Protocol(status, description, detail);
      case IO: return new Io(status, description, detail);
      default: return new RegularsException(status, description, detail); // OK is never thrown
    }
  }

  /** The JSON given is malformed or breaks the schema; {@link #detail()} names the field. */
  public static class InvalidInput extends RegularsException {
    private static final long serialVersionUID = 1L;

    public InvalidInput(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** regularsd cannot be reached right now (for hints: show none and carry on). */
  public static class Unavailable extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Unavailable(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /**
   * The daemon or the spool disk did not finish within the budget. For a record: the event is
   * durable or not recorded at all; recording it again with the same "event_id" is safe.
   */
  public static class Timeout extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Timeout(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** The thing asked for does not exist. */
  public static class NotFound extends RegularsException {
    private static final long serialVersionUID = 1L;

    public NotFound(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** Refused: authentication, role or consent. */
  public static class Denied extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Denied(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** The daemon is unreachable and the spool reached its size bound. */
  public static class SpoolFull extends RegularsException {
    private static final long serialVersionUID = 1L;

    public SpoolFull(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** An unexpected failure inside the library or the daemon. */
  public static class Internal extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Internal(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** API misuse: a null pointer or a handle that is not the library's. */
  public static class InvalidArgument extends RegularsException {
    private static final long serialVersionUID = 1L;

    public InvalidArgument(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** The daemon speaks an incompatible or corrupt protocol. */
  public static class Protocol extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Protocol(int status, String description, String detail) {
      super(status, description, detail);
    }
  }

  /** The spool directory cannot be created, read or written. */
  public static class Io extends RegularsException {
    private static final long serialVersionUID = 1L;

    public Io(int status, String description, String detail) {
      super(status, description, detail);
    }
  }
}
