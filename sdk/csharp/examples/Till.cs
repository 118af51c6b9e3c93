// An example till: a customer taps their loyalty card, the cashier sees the hints, the purchase is
// recorded. Build: see sdk/csharp/README.md. Run:
//   mono Till.exe [ENDPOINT [CARD [BUDGET_MS]]]
//   e.g. mono Till.exe unix:/tmp/regulars-demo/data/regularsd.sock 4000123
// The library is found through REGULARS_PLUGIN, else the system's libregulars.so.0.
using System;
using System.Collections.Generic;
using Regulars;

public static class Till
{
    public static int Main(string[] args)
    {
        string endpoint = args.Length > 0 ? args[0] : "unix:/var/lib/regulars/regularsd.sock";
        var card = CustomerId.Card(args.Length > 1 ? args[1] : "4000123");
        int budgetMs = args.Length > 2 ? int.Parse(args[2]) : 200;
        try
        {
            var options = new RegularsOptions { Endpoint = endpoint, Terminal = "lane-1", BudgetMs = budgetMs };
            using (var client = new RegularsClient(options))
            {
                ShowHints(client, card);
                client.Record(SourdoughPurchase(card));
                Console.WriteLine("recorded: a purchase of 1 Sourdough loaf");
            }
            return 0;
        }
        catch (RegularsException e)
        {
            // The message names the status and the field; it never holds the card number.
            Console.Error.WriteLine("till: " + e.Message);
            return 1;
        }
    }

    private static void ShowHints(RegularsClient client, CustomerId card)
    {
        HintsAnswer answer;
        try
        {
            answer = client.Hints(card, "en");
        }
        catch (UnavailableException)
        {
            Console.WriteLine("(no hints now: regularsd is not reachable; the sale goes on)");
            return;
        }
        catch (RegularsTimeoutException)
        {
            Console.WriteLine("(no hints now: regularsd did not answer in time; the sale goes on)");
            return;
        }
        CustomerSummary customer = answer.Customer;
        Console.WriteLine(customer.Known ? "customer: known, visits: " + customer.Visits : "customer: new to the store");
        foreach (Hint hint in answer.Hints) Console.WriteLine("  " + hint.Text);
        foreach (Prediction item in answer.Predictions)
            Console.WriteLine(string.Format("  likely: {0} ({1:0.00}, {2})", item.Name ?? item.Sku, item.Score, item.Reason));
        foreach (Offer offer in answer.Offers) Console.WriteLine("  gesture: " + offer.Text);
    }

    private static Dictionary<string, object> SourdoughPurchase(CustomerId card)
    {
        var line = new Dictionary<string, object>
        {
            { "sku", "sourdough" }, { "name", "Sourdough loaf" }, { "qty", 1 }, { "unit_price", 325 },
        };
        return new Dictionary<string, object>
        {
            { "type", "purchase" }, { "customer", card }, { "currency", "GBP" }, { "lines", new List<object> { line } },
        };
    }
}
