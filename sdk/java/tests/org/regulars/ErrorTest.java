package org.regulars;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Statuses become typed exceptions carrying the status, its name, its description and the detail. */
public class ErrorTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private Daemon daemon;
  private RegularsClient client;

  @Before
  public void open() throws Exception {
    daemon = Daemon.start(folder.getRoot().toPath().resolve("data"));
    client = RegularsClient.open(Daemon.plugin(), daemon.options());
  }

  @After
  public void close() throws Exception {
    client.close();
    daemon.close();
  }

  @Test
  public void aBadQuantityIsInvalidInputNamingTheField() {
    Map<String, Object> event = Map.of("type", "purchase", "customer", ClientTest.card("4000123"),
        "lines", List.of(Map.of("sku", "oat-milk", "qty", 0)));
    RegularsException.InvalidInput e = assertThrows(RegularsException.InvalidInput.class, () -> client.record(event));
    assertEquals(1, e.status());
    assertSame(RegularsStatus.INVALID_INPUT, e.statusCode());
    assertEquals("REGULARS_INVALID_INPUT", e.statusName());
    assertFalse(e.description().isEmpty());
    assertThat(e.detail(), containsString("lines[0].qty"));
    assertThat(e.getMessage(), containsString("REGULARS_INVALID_INPUT (1): " + e.description()));
  }

  @Test
  public void malformedJsonIsInvalidInput() {
    RegularsException.InvalidInput e =
        assertThrows(RegularsException.InvalidInput.class, () -> client.hints("{\"customer\": "));
    assertFalse(e.detail().isEmpty());
  }

  @Test
  public void aBadOptionIsInvalidInputNamingTheOption() {
    RegularsException.InvalidInput e = assertThrows(RegularsException.InvalidInput.class,
        () -> RegularsClient.open(Daemon.plugin(), Map.of("endpoint", daemon.endpoint(), "budget_ms", 0)));
    assertThat(e.detail(), containsString("budget_ms"));
  }

  @Test
  public void aValueJsonCannotHoldIsInvalidInputBeforeTheCall() {
    Map<String, Object> event = Map.of("type", "note", "customer", ClientTest.card("4000123"),
        "text", new Object());
    RegularsException.InvalidInput e = assertThrows(RegularsException.InvalidInput.class, () -> client.record(event));
    assertThat(e.detail(), containsString("event.text"));
    assertThrows(RegularsException.InvalidInput.class, () -> client.record(Map.of("type", "note", "qty", Double.NaN)));
  }

  @Test
  public void aNulCharacterInRawJsonIsRefusedRatherThanCut() {
    RegularsException.InvalidInput e = assertThrows(RegularsException.InvalidInput.class,
        () -> client.record("{\"type\": \"note\"}\u0000 and more"));
    assertThat(e.detail(), containsString("NUL"));
  }

  @Test
  public void everyStatusHasItsOwnTypeAndAnUnknownOneTheBase() {
    Map<RegularsStatus, Class<?>> types = Map.of(
        RegularsStatus.INVALID_INPUT, RegularsException.InvalidInput.class,
        RegularsStatus.UNAVAILABLE, RegularsException.Unavailable.class,
        RegularsStatus.TIMEOUT, RegularsException.Timeout.class,
        RegularsStatus.NOT_FOUND, RegularsException.NotFound.class,
        RegularsStatus.DENIED, RegularsException.Denied.class,
        RegularsStatus.SPOOL_FULL, RegularsException.SpoolFull.class,
        RegularsStatus.INTERNAL, RegularsException.Internal.class,
        RegularsStatus.INVALID_ARGUMENT, RegularsException.InvalidArgument.class,
        RegularsStatus.PROTOCOL, RegularsException.Protocol.class,
        RegularsStatus.IO, RegularsException.Io.class);
    assertEquals(RegularsStatus.values().length - 1, types.size());
    for (Map.Entry<RegularsStatus, Class<?>> type : types.entrySet()) {
      RegularsException e = RegularsException.forStatus(type.getKey().code(), "description", "detail");
      assertSame(type.getValue(), e.getClass());
      assertEquals("REGULARS_" + type.getKey().name(), e.statusName());
    }
    RegularsException future = RegularsException.forStatus(42, "unknown status", "");
    assertSame(RegularsException.class, future.getClass());
    assertEquals(42, future.status());
    assertNull(future.statusCode());
    assertEquals("REGULARS_STATUS_42 (42): unknown status", future.getMessage());
  }
}
