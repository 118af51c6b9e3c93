package org.regulars;

/**
 * The statuses of {@code regulars.h}. Their numbers are never renumbered and the library may append
 * new ones, so a status is always carried as its number too: see {@link RegularsException#status()}.
 */
public enum RegularsStatus {
  OK(0),
  INVALID_INPUT(1),
  UNAVAILABLE(2),
  TIMEOUT(3),
  NOT_FOUND(4),
  DENIED(5),
  SPOOL_FULL(6),
  INTERNAL(7),
  INVALID_ARGUMENT(8),
  PROTOCOL(9),
  IO(10);

  private final int code;

  RegularsStatus(int code) {
    this.code = code;
  }

  /** The number the C interface uses. */
  public int code() {
    return code;
  }

  /** The status with this number, or null for a number newer than this binding. */
  public static RegularsStatus of(int code) {
    for (RegularsStatus status : values()) {
      if (status.code == code) return status;
    }
    return null;
  }

  /** The name in regulars.h, e.g. "REGULARS_INVALID_INPUT"; "REGULARS_STATUS_42" when unknown. */
  public static String nameOf(int code) {
    RegularsStatus status = of(code);
    return status == null ? "REGULARS_STATUS_" + code : "REGULARS_" + status.name();
  }
}
