// The binding's JSON reader and writer: what the options, events and answers need.
using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace Regulars.Tests
{
    [TestFixture]
    public class JsonTests
    {
        [Test]
        public void WritesOptionsWithOnlyTheSetFields()
        {
            var options = new RegularsOptions
            {
                Endpoint = "unix:/tmp/d/regularsd.sock", BudgetMs = 80, SpoolMaxBytes = 1L << 33,
                Extra = new Dictionary<string, object> { { "future_option", "x" } },
            };
            string json = options.ToJson();
            StringAssert.Contains("\"spool_max_bytes\":8589934592", json);
            var members = (IDictionary<string, object>)Json.Parse(json);
            CollectionAssert.AreEquivalent(new[] { "endpoint", "budget_ms", "spool_max_bytes", "future_option" }, members.Keys);
            Assert.AreEqual("unix:/tmp/d/regularsd.sock", members["endpoint"]);
            Assert.AreEqual(80.0, members["budget_ms"]);
        }

        [Test]
        public void RightToLeftTextAndEscapesSurviveARoundTrip()
        {
            string note = "\u2068ساره\u2069 \"quoted\"\\ tab\t line\n \U0001F600 \u0001";
            string text = Json.Write(new Dictionary<string, object> { { "text", note }, { "n", 1.5 }, { "ok", true } });
            StringAssert.Contains("\\u0001", text);
            var back = (IDictionary<string, object>)Json.Parse(text);
            Assert.AreEqual(note, back["text"]);
            Assert.AreEqual(1.5, back["n"]);
            Assert.AreEqual(true, back["ok"]);
        }

        [Test]
        public void ReadsEscapedSurrogatePairsAndNesting()
        {
            var value = (IDictionary<string, object>)Json.Parse("{\"a\": [1, -2.5e2, null, {\"b\": \"\\ud83d\\ude00\\u00e9\"}]}");
            var items = (IList<object>)value["a"];
            Assert.AreEqual(1.0, items[0]);
            Assert.AreEqual(-250.0, items[1]);
            Assert.IsNull(items[2]);
            Assert.AreEqual("\U0001F600é", ((IDictionary<string, object>)items[3])["b"]);
        }

        [TestCase("")]
        [TestCase("{")]
        [TestCase("{\"a\" 1}")]
        [TestCase("[1,]")]
        [TestCase("{\"a\": 1} x")]
        [TestCase("\"unterminated")]
        [TestCase("tru")]
        [TestCase("{\"a\": 01x}")]
        public void RefusesMalformedText(string text)
        {
            Assert.Throws<FormatException>(() => Json.Parse(text));
        }

        [Test]
        public void RefusesNestingBeyondTheBound()
        {
            string deep = new string('[', 100) + new string(']', 100);
            var error = Assert.Throws<FormatException>(() => Json.Parse(deep));
            StringAssert.Contains("nested", error.Message);
        }

        [Test]
        public void AnAnswerThatIsNotJsonIsAProtocolError()
        {
            var error = Assert.Throws<ProtocolException>(() => HintsAnswer.Parse("<html>"));
            Assert.AreEqual((int)RegularsStatus.Protocol, error.Status);
        }

        [Test]
        public void CustomerIdNeverShowsItsValue()
        {
            var card = CustomerId.Phone("+98 912 555 0101");
            Assert.AreEqual("phone:***", card.ToString());
            Assert.AreEqual("{\"kind\":\"phone\",\"value\":\"+98 912 555 0101\"}", Json.Write(card));
        }
    }
}
