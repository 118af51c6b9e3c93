// The hints answer (sdk/PROTOCOL.md, "Hints answer") as typed values, with the raw JSON beside them.
// Fields this binding does not know are kept in Root and in each item's Fields, never dropped.
using System;
using System.Collections.Generic;

namespace Regulars
{
    public sealed class HintsAnswer
    {
        // The answer exactly as the library returned it.
        public string RawJson { get; private set; }

        // The parsed answer, for fields newer than this binding.
        public IDictionary<string, object> Root { get; private set; }

        public CustomerSummary Customer { get; private set; }
        public IList<Hint> Hints { get; private set; }
        public IList<Prediction> Predictions { get; private set; }
        public IList<Offer> Offers { get; private set; }
        public bool AskFeedback { get; private set; }
        public string Locale { get; private set; }

        // "ltr" or "rtl": the direction to lay the texts out in.
        public string Dir { get; private set; }

        // Parses the library's answer; a text that is not a JSON object is a ProtocolException.
        public static HintsAnswer Parse(string json)
        {
            IDictionary<string, object> root;
            try
            {
                root = Json.Parse(json) as IDictionary<string, object>;
            }
            catch (FormatException e)
            {
                throw new ProtocolException((int)RegularsStatus.Protocol, "the hints answer is not JSON", e.Message);
            }
            if (root == null)
            {
                throw new ProtocolException((int)RegularsStatus.Protocol, "the hints answer is not a JSON object", "");
            }
            var fields = new Fields(root);
            return new HintsAnswer
            {
                RawJson = json,
                Root = root,
                Customer = new CustomerSummary(fields.Object("customer")),
                Hints = fields.List("hints", item => new Hint(item)),
                Predictions = fields.List("predictions", item => new Prediction(item)),
                Offers = fields.List("offers", item => new Offer(item)),
                AskFeedback = fields.Bool("ask_feedback") ?? false,
                Locale = fields.String("locale"),
                Dir = fields.String("dir"),
            };
        }
    }

    // How the store knows the customer: "known" false means every other field is empty.
    public sealed class CustomerSummary
    {
        internal CustomerSummary(Fields fields)
        {
            Fields = fields.All;
            Known = fields.Bool("known") ?? false;
            Visits = fields.Int("visits") ?? 0;
            FirstSeen = fields.String("first_seen");
            LastSeen = fields.String("last_seen");
            DaysSinceLast = fields.Int("days_since_last");
            Personalized = fields.Bool("personalized") ?? false;
            var consent = fields.Object("consent");
            ConsentRemember = consent.Bool("remember");
            ConsentPersonalize = consent.Bool("personalize");
        }

        public IDictionary<string, object> Fields { get; private set; }
        public bool Known { get; private set; }
        public int Visits { get; private set; }
        public string FirstSeen { get; private set; }
        public string LastSeen { get; private set; }
        public int? DaysSinceLast { get; private set; }
        public bool Personalized { get; private set; }
        public bool? ConsentRemember { get; private set; }
        public bool? ConsentPersonalize { get; private set; }
    }

    // One line for the cashier, ranked by Priority (highest first).
    public sealed class Hint
    {
        internal Hint(Fields fields)
        {
            Fields = fields.All;
            Kind = fields.String("kind");
            Priority = fields.Int("priority") ?? 0;
            Text = fields.String("text");
            Why = fields.String("why");
        }

        public IDictionary<string, object> Fields { get; private set; }
        public string Kind { get; private set; }
        public int Priority { get; private set; }
        public string Text { get; private set; }
        public string Why { get; private set; }
    }

    // An item the customer is likely to buy, Score 0-1, best first.
    public sealed class Prediction
    {
        internal Prediction(Fields fields)
        {
            Fields = fields.All;
            Sku = fields.String("sku");
            Name = fields.String("name");
            Score = fields.Double("score") ?? 0;
            Reason = fields.String("reason");
        }

        public IDictionary<string, object> Fields { get; private set; }
        public string Sku { get; private set; }
        public string Name { get; private set; }
        public double Score { get; private set; }
        public string Reason { get; private set; }
    }

    // A loyalty gesture to offer; report what became of it with an offer_outcome event naming OfferId.
    public sealed class Offer
    {
        internal Offer(Fields fields)
        {
            Fields = fields.All;
            OfferId = fields.String("offer_id");
            Rule = fields.String("rule");
            Kind = fields.String("kind");
            Text = fields.String("text");
            Why = fields.String("why");
            Cost = fields.Double("cost") ?? 0;
            Sku = fields.String("sku");
            Status = fields.String("status");
        }

        // Every field of the offer, also the optional ones (item, member, percent, amount, task, new).
        public IDictionary<string, object> Fields { get; private set; }
        public string OfferId { get; private set; }
        public string Rule { get; private set; }
        public string Kind { get; private set; }
        public string Text { get; private set; }
        public string Why { get; private set; }
        public double Cost { get; private set; }
        public string Sku { get; private set; }
        public string Status { get; private set; }
    }

    // Typed reads of one parsed JSON object; a missing member or one of another type reads as absent.
    internal sealed class Fields
    {
        private static readonly IDictionary<string, object> Empty = new Dictionary<string, object>();

        internal Fields(IDictionary<string, object> members)
        {
            All = members ?? Empty;
        }

        internal IDictionary<string, object> All { get; private set; }

        private object Get(string name)
        {
            object value;
            return All.TryGetValue(name, out value) ? value : null;
        }

        internal string String(string name)
        {
            return Get(name) as string;
        }

        internal bool? Bool(string name)
        {
            object value = Get(name);
            return value is bool ? (bool)value : (bool?)null;
        }

        internal double? Double(string name)
        {
            object value = Get(name);
            return value is double ? (double)value : (double?)null;
        }

        internal int? Int(string name)
        {
            double? value = Double(name);
            return value.HasValue ? (int)Math.Round(value.Value) : (int?)null;
        }

        internal Fields Object(string name)
        {
            return new Fields(Get(name) as IDictionary<string, object>);
        }

        internal IList<T> List<T>(string name, Func<Fields, T> make)
        {
            var items = new List<T>();
            var array = Get(name) as IList<object>;
            if (array == null) return items.AsReadOnly();
            foreach (object item in array) items.Add(make(new Fields(item as IDictionary<string, object>)));
            return items.AsReadOnly();
        }
    }
}
