package org.regulars;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real regularsd on a data directory of the test's own, as ctest names it in REGULARS_REGULARSD.
 * Stopped with SIGTERM; a daemon that fails to stop cleanly fails the test.
 */
final class Daemon implements AutoCloseable {
  private static final long START_TIMEOUT_MS = 15_000;
  private static final long STOP_TIMEOUT_MS = 10_000;

  final Path dataDir;
  private final Path log;
  private Process process;

  private Daemon(Path dataDir) {
    this.dataDir = dataDir;
    this.log = dataDir.resolveSibling(dataDir.getFileName() + "-regularsd.log");
  }

  static Daemon start(Path dataDir) throws Exception {
    Daemon daemon = new Daemon(dataDir);
    daemon.restart();
    return daemon;
  }

  /** The path of a program or library ctest passes in the environment. */
  static Path fromEnvironment(String variable) {
    String value = System.getenv(variable);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException(variable + " is not set; run the tests through ctest");
    }
    return Path.of(value);
  }

  static Path plugin() {
    return fromEnvironment("REGULARS_PLUGIN");
  }

  Path socket() {
    return dataDir.resolve("regularsd.sock");
  }

  String endpoint() {
    return "unix:" + socket();
  }

  /** Options for a till on this daemon, with a budget a busy test machine keeps to. */
  RegularsOptions options() {
    return new RegularsOptions().endpoint(endpoint()).budgetMs(5000).terminal("lane-j");
  }

  /** Starts regularsd (again) and waits until it serves its socket. */
  void restart() throws Exception {
    if (process != null) throw new IllegalStateException("regularsd is already running");
    Files.deleteIfExists(log);
    process = new ProcessBuilder(fromEnvironment("REGULARS_REGULARSD").toString(),
        "--data-dir", dataDir.toString(), "--log-format", "text")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      // The socket exists once bound; the "started" line is logged once it is served.
      if (Files.exists(socket()) && logText().contains("regularsd started")) return;
      if (!process.isAlive()) throw new IllegalStateException("regularsd exited at start:\n" + logText());
      Thread.sleep(20);
    }
    throw new IllegalStateException("regularsd did not start within " + START_TIMEOUT_MS + " ms:\n" + logText());
  }

  /** Stops regularsd with SIGTERM and checks that it exited cleanly. */
  void stop() throws InterruptedException {
    if (process == null) return;
    Process stopping = process;
    process = null;
    stopping.destroy(); // SIGTERM
    if (!stopping.waitFor(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
      stopping.destroyForcibly();
      throw new IllegalStateException("regularsd did not stop within " + STOP_TIMEOUT_MS + " ms of SIGTERM");
    }
    if (stopping.exitValue() != 0) {
      throw new IllegalStateException("regularsd exited with status " + stopping.exitValue() + ":\n" + logText());
    }
  }

  /** Runs regularsctl on this daemon's data directory; returns what it printed, or fails. */
  String regularsctl(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(fromEnvironment("REGULARS_REGULARSCTL").toString());
    command.add("--data-dir");
    command.add(dataDir.toString());
    command.addAll(List.of(args));
    Process ctl = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(ctl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!ctl.waitFor(30, TimeUnit.SECONDS)) {
      ctl.destroyForcibly();
      throw new IllegalStateException("regularsctl " + args[0] + " did not finish");
    }
    if (ctl.exitValue() != 0) {
      throw new IllegalStateException("regularsctl " + args[0] + " failed (" + ctl.exitValue() + "): " + output);
    }
    return output;
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(cannot read the log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while stopping regularsd", e);
    }
  }
}
