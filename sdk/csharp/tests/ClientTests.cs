// The binding against a real regularsd and the real libregulars (REGULARS_PLUGIN, set by ctest).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace Regulars.Tests
{
    [TestFixture]
    public class ClientTests
    {
        private TempDir temp;
        private Daemon daemon;

        [SetUp]
        public void StartDaemon()
        {
            temp = new TempDir();
            daemon = new Daemon(temp.Sub("data"));
            daemon.Start();
        }

        [TearDown]
        public void StopDaemon()
        {
            daemon.Dispose();
            temp.Dispose();
        }

        private RegularsClient Open(string spoolDir = null, int budgetMs = 2000)
        {
            // A generous budget: the tests share a busy machine; the budget itself is the plugin's test.
            return new RegularsClient(new RegularsOptions
            {
                Endpoint = daemon.Endpoint,
                SpoolDir = spoolDir,
                BudgetMs = budgetMs,
                Terminal = "lane-cs",
            });
        }

        private static Dictionary<string, object> Consent(CustomerId customer)
        {
            return new Dictionary<string, object>
            {
                { "type", "consent" },
                { "customer", customer },
                { "purposes", new Dictionary<string, object> { { "remember", true }, { "personalize", true } } },
            };
        }

        private static string Purchase(string card, string sku, string name)
        {
            return "{\"type\": \"purchase\", \"customer\": {\"kind\": \"card\", \"value\": \"" + card + "\"},"
                + " \"lines\": [{\"sku\": \"" + sku + "\", \"name\": \"" + name + "\", \"qty\": 1, \"unit_price\": 199}]}";
        }

        [Test]
        public void VersionIsTheLibrarysThreePartVersion()
        {
            string version = RegularsClient.LibraryVersion();
            StringAssert.IsMatch(@"^0\.\d+\.\d+$", version);
        }

        [Test]
        public void OpenAndDisposeThenCallsAreRefused()
        {
            var client = Open();
            HintsAnswer answer = client.Hints(CustomerId.Card("9000001"));
            Assert.IsFalse(answer.Customer.Known, "a card the store never saw");
            client.Dispose();
            client.Dispose();  // twice is harmless, as regulars_close(NULL) is
            Assert.Throws<ObjectDisposedException>(() => client.Hints(CustomerId.Card("9000001")));
            Assert.Throws<ObjectDisposedException>(() => client.Record(Purchase("9000001", "bread", "Bread")));
        }

        [Test]
        public void OptionsAsJsonAndAsADictionaryOpenToo()
        {
            string json = "{\"endpoint\": \"" + daemon.Endpoint + "\", \"budget_ms\": 2000}";
            using (var client = RegularsClient.OpenJson(json))
            {
                Assert.IsFalse(client.Hints(CustomerId.Card("9000002")).Customer.Known);
            }
            var options = new Dictionary<string, object> { { "endpoint", daemon.Endpoint }, { "budget_ms", 2000 } };
            using (var client = new RegularsClient(options))
            {
                Assert.IsFalse(client.Hints(CustomerId.Card("9000002")).Customer.Known);
            }
        }

        [Test]
        public void HintsRecogniseTheCustomerAfterAPurchase()
        {
            var card = CustomerId.Card("4000123");
            using (var client = Open())
            {
                client.Record(Consent(card));
                client.Record(Purchase("4000123", "oat-milk", "Oat milk"));
                HintsAnswer answer = client.Hints(card, "en");

                Assert.IsTrue(answer.Customer.Known);
                Assert.AreEqual(1, answer.Customer.Visits);
                Assert.IsTrue(answer.Customer.Personalized);
                Assert.AreEqual(true, answer.Customer.ConsentPersonalize);
                Assert.AreEqual("ltr", answer.Dir);
                Assert.That(answer.Hints.Select(h => h.Kind).ToList(), Has.Member("greeting"));
                Assert.That(answer.Predictions.Select(p => p.Sku).ToList(), Has.Member("oat-milk"));
                StringAssert.Contains("\"known\":true", answer.RawJson.Replace(" ", ""));
            }
        }

        [Test]
        public void HintsInPersianAreRightToLeft()
        {
            var card = CustomerId.Card("4000124");
            using (var client = Open())
            {
                client.Record(Consent(card));
                client.Record(Purchase("4000124", "tea", "Tea"));
                var request = new Dictionary<string, object> { { "customer", card }, { "locale", "fa" } };
                HintsAnswer answer = client.Hints(request);
                Assert.AreEqual("rtl", answer.Dir);
                Assert.AreEqual("fa", answer.Locale);
                Hint greeting = answer.Hints.First(h => h.Kind == "greeting");
                Assert.IsTrue(greeting.Text.Any(c => c >= '\u0600' && c <= '\u06FF'), "Persian letters in the greeting");
            }
        }

        [Test]
        public void RecordedEventsAddVisits()
        {
            var card = CustomerId.Card("4000125");
            using (var client = Open())
            {
                client.Record(Consent(card));
                for (int visit = 0; visit < 3; visit++) client.Record(Purchase("4000125", "bread", "Bread"));
                Assert.AreEqual(3, client.Hints(card).Customer.Visits);
            }
        }

        [Test]
        public void SpooledRecordArrivesAfterTheDaemonReturns()
        {
            var card = CustomerId.Card("4000126");
            using (var client = Open(temp.Sub("spool")))
            {
                client.Record(Consent(card));  // also proves the hello, where the spool key is learnt
                Assert.AreEqual(0, client.Hints(card).Customer.Visits);

                daemon.Stop();
                string spooled = Purchase("4000126", "chips-sv", "Salt & vinegar chips")
                    .Replace("{\"type\"", "{\"event_id\": \"cs-spooled-1\", \"type\"");
                client.Record(spooled);  // durable in the spool
                Assert.Throws<UnavailableException>(() => client.Hints(card));
                Assert.IsNotEmpty(Directory.GetFiles(temp.Sub("spool"), "*", SearchOption.AllDirectories));

                daemon.Start();
                HintsAnswer answer = WaitForVisits(client, card, 1, TimeSpan.FromSeconds(30));
                Assert.That(answer.Predictions.Select(p => p.Sku).ToList(), Has.Member("chips-sv"));
            }
            // The owner's export lists the customer's stored events: the spooled one is there once.
            var record = (IDictionary<string, object>)Json.Parse(daemon.Ctl("export --kind card --value 4000126"));
            var eventIds = ((IList<object>)record["events"]).Select(e => ((IDictionary<string, object>)e)["event_id"]);
            Assert.AreEqual(1, eventIds.Count(id => (string)id == "cs-spooled-1"));
        }

        private static HintsAnswer WaitForVisits(RegularsClient client, CustomerId card, int visits, TimeSpan patience)
        {
            var deadline = DateTime.UtcNow + patience;
            string last = "no answer";
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    HintsAnswer answer = client.Hints(card);
                    if (answer.Customer.Visits == visits) return answer;
                    last = "visits " + answer.Customer.Visits;
                }
                catch (UnavailableException e)
                {
                    last = e.Message;  // still reconnecting
                }
                Thread.Sleep(100);
            }
            Assert.Fail("the spooled purchase did not arrive within " + patience + " (" + last + ")");
            return null;
        }

        [Test]
        public void InvalidEventIsInvalidInputNamingTheField()
        {
            using (var client = Open())
            {
                string bad = "{\"type\": \"purchase\", \"customer\": {\"kind\": \"card\", \"value\": \"4000127\"},"
                    + " \"lines\": [{\"sku\": \"bread\", \"qty\": -1}]}";
                var error = Assert.Throws<InvalidInputException>(() => client.Record(bad));
                Assert.AreEqual((int)RegularsStatus.InvalidInput, error.Status);
                Assert.AreEqual("REGULARS_INVALID_INPUT", error.StatusName);
                StringAssert.Contains("lines[0].qty", error.Detail);
                Assert.IsNotEmpty(error.Description);
                StringAssert.Contains(error.Detail, error.Message);
            }
        }

        [Test]
        public void EachThreadReadsTheDetailOfItsOwnFailure()
        {
            string[] badFields = { "qty\": -1", "unit_price\": -5", "sku\": \"\"" };
            string[] namedFields = { "lines[0].qty", "lines[0].unit_price", "lines[0].sku" };
            var mismatches = new List<string>();
            using (var client = Open())
            {
                var threads = Enumerable.Range(0, badFields.Length).Select(i => new Thread(() =>
                {
                    string bad = "{\"type\": \"purchase\", \"customer\": {\"kind\": \"card\", \"value\": \"4000130\"},"
                        + " \"lines\": [{\"sku\": \"x\", \"" + badFields[i] + "}]}";
                    for (int round = 0; round < 50; round++)
                    {
                        try
                        {
                            client.Record(bad);
                            lock (mismatches) mismatches.Add("accepted: " + badFields[i]);
                        }
                        catch (InvalidInputException e)
                        {
                            if (!e.Detail.Contains(namedFields[i])) lock (mismatches) mismatches.Add(e.Detail);
                        }
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
            }
            CollectionAssert.IsEmpty(mismatches);
        }

        [Test]
        public void InvalidOptionIsInvalidInputNamingTheOption()
        {
            var options = new RegularsOptions { Endpoint = daemon.Endpoint, BudgetMs = 0 };
            var error = Assert.Throws<InvalidInputException>(() => new RegularsClient(options).Dispose());
            StringAssert.Contains("budget_ms", error.Detail);
        }

        [Test]
        public void CardNumberAsIdentifierIsRefused()
        {
            using (var client = Open())
            {
                var error = Assert.Throws<InvalidInputException>(() => client.Hints(CustomerId.Card("4111 1111 1111 1111")));
                StringAssert.Contains("customer.value", error.Detail);
                StringAssert.Contains("payment card number", error.Detail);
                StringAssert.DoesNotContain("4111", error.Message);
            }
        }

        [Test]
        public void AbsentDaemonIsUnavailableAtOnce()
        {
            var options = new RegularsOptions { Endpoint = "unix:" + temp.Sub("nobody.sock"), BudgetMs = 50 };
            using (var client = new RegularsClient(options))
            {
                var clock = Stopwatch.StartNew();
                var error = Assert.Throws<UnavailableException>(() => client.Hints(CustomerId.Card("4000128")));
                Assert.AreEqual("REGULARS_UNAVAILABLE", error.StatusName);
                Assert.Less(clock.ElapsedMilliseconds, 1000);
                // Without a spool, a record cannot be made durable either.
                Assert.Throws<UnavailableException>(() => client.Record(Purchase("4000128", "bread", "Bread")));
            }
        }

        [Test]
        public void TheExampleTillShowsHints()
        {
            string till = Environment.GetEnvironmentVariable("REGULARS_CSHARP_TILL");
            Assert.IsNotNullOrEmpty(till, "REGULARS_CSHARP_TILL: the example's Till.exe (ctest sets it)");
            using (var client = Open())
            {
                client.Record(Consent(CustomerId.Card("4000129")));
                client.Record(Purchase("4000129", "oat-milk", "Oat milk"));
            }
            var start = new ProcessStartInfo("mono", till + " " + daemon.Endpoint + " 4000129 2000")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (Process run = Process.Start(start))
            {
                string output = run.StandardOutput.ReadToEnd();
                string errors = run.StandardError.ReadToEnd();
                Assert.IsTrue(run.WaitForExit(30000), "the example till did not finish");
                Assert.AreEqual(0, run.ExitCode, output + errors);
                StringAssert.Contains("visits: 1", output);
                StringAssert.Contains("Oat milk", output);
                StringAssert.Contains("recorded:", output);
            }
            using (var client = Open())
            {
                Assert.AreEqual(2, client.Hints(CustomerId.Card("4000129")).Customer.Visits, "the example's purchase");
            }
        }
    }
}
