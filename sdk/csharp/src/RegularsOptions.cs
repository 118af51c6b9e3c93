// The options of regulars_open (see regulars.h) as a C# object; unset properties are left out, so
// the library's defaults apply.
using System;
using System.Collections.Generic;

namespace Regulars
{
    public sealed class RegularsOptions : IJsonValue
    {
        // "unix:/path/regularsd.sock" or "tls:HOST:PORT" (default unix:/var/lib/regulars/regularsd.sock).
        public string Endpoint { get; set; }

        // Where events the daemon cannot take now are kept (fsynced) until it can.
        public string SpoolDir { get; set; }
        public long? SpoolMaxBytes { get; set; }

        // The time budget of every call, 1..10000 ms (default 50).
        public int? BudgetMs { get; set; }

        // Fill "terminal", "store" and "cashier" of events and requests that have none.
        public string Terminal { get; set; }
        public string Store { get; set; }
        public string Cashier { get; set; }

        // For a tls: endpoint: the store's CA (PEM), this lane's token, the certificate's name.
        public string CaFile { get; set; }
        public string Token { get; set; }
        public string ServerName { get; set; }

        // Options newer than this binding, by their JSON name; they win over the properties above.
        public IDictionary<string, object> Extra { get; set; }

        // The endpoint of a daemon started with --data-dir dataDir on this machine.
        public static string LocalEndpoint(string dataDir)
        {
            if (string.IsNullOrEmpty(dataDir)) throw new ArgumentException("a data directory is needed", "dataDir");
            return "unix:" + System.IO.Path.Combine(dataDir, "regularsd.sock");
        }

        public object ToJsonValue()
        {
            var members = new Dictionary<string, object>();
            Put(members, "endpoint", Endpoint);
            Put(members, "spool_dir", SpoolDir);
            Put(members, "spool_max_bytes", SpoolMaxBytes);
            Put(members, "budget_ms", BudgetMs);
            Put(members, "terminal", Terminal);
            Put(members, "store", Store);
            Put(members, "cashier", Cashier);
            Put(members, "ca_file", CaFile);
            Put(members, "token", Token);
            Put(members, "server_name", ServerName);
            if (Extra != null)
            {
                foreach (var member in Extra) members[member.Key] = member.Value;
            }
            return members;
        }

        public string ToJson()
        {
            return Json.Write(this);
        }

        private static void Put(Dictionary<string, object> members, string name, object value)
        {
            if (value != null) members[name] = value;
        }
    }

    // A customer, named by an identifier the till has. The value is personal data: ToString hides it.
    public sealed class CustomerId : IJsonValue
    {
        public CustomerId(string kind, string value)
        {
            if (string.IsNullOrEmpty(kind)) throw new ArgumentException("an identifier kind is needed", "kind");
            if (value == null) throw new ArgumentNullException("value");
            Kind = kind;
            Value = value;
        }

        // card, phone, email, app or payment_token (sdk/PROTOCOL.md, "Customer identifier").
        public string Kind { get; private set; }
        public string Value { get; private set; }

        public static CustomerId Card(string value) { return new CustomerId("card", value); }
        public static CustomerId Phone(string value) { return new CustomerId("phone", value); }
        public static CustomerId Email(string value) { return new CustomerId("email", value); }
        public static CustomerId App(string value) { return new CustomerId("app", value); }
        public static CustomerId PaymentToken(string value) { return new CustomerId("payment_token", value); }

        public object ToJsonValue()
        {
            return new Dictionary<string, object> { { "kind", Kind }, { "value", Value } };
        }

        // Never the value: identifiers must not reach logs.
        public override string ToString()
        {
            return Kind + ":***";
        }
    }
}
