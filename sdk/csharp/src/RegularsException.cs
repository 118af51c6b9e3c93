// The statuses of regulars.h and the exceptions they become: one class per status, all deriving
// from RegularsException, which a status newer than this binding becomes as such.
using System;
using System.Collections.Generic;

namespace Regulars
{
    // regulars_status. Values are never renumbered; the library may append new ones.
    public enum RegularsStatus
    {
        Ok = 0,
        InvalidInput = 1,
        Unavailable = 2,
        Timeout = 3,
        NotFound = 4,
        Denied = 5,
        SpoolFull = 6,
        Internal = 7,
        InvalidArgument = 8,
        Protocol = 9,
        Io = 10,
    }

    // A call into libregulars returned a status other than OK.
    public class RegularsException : Exception
    {
        // The numeric status, also for a status newer than this binding.
        public int Status { get; private set; }

        // Its name in regulars.h, e.g. "REGULARS_INVALID_INPUT" ("REGULARS_STATUS_42" when unknown).
        public string StatusName { get; private set; }

        // regulars_strerror's one-line description of the status.
        public string Description { get; private set; }

        // regulars_last_error's detail of this failure, e.g. "event.lines[0].qty: must be ...".
        public string Detail { get; private set; }

        public RegularsException(int status, string description, string detail)
            : base(Compose(status, description, detail))
        {
            Status = status;
            StatusName = NameOf(status);
            Description = description ?? "";
            Detail = detail ?? "";
        }

        // A message for a failure that has no status (the library could not be loaded).
        protected RegularsException(string message) : base(message)
        {
            Status = -1;
            StatusName = "";
            Description = message;
            Detail = "";
        }

        public static string NameOf(int status)
        {
            if (Enum.IsDefined(typeof(RegularsStatus), status))
            {
                return "REGULARS_" + ScreamingSnake(((RegularsStatus)status).ToString());
            }
            return "REGULARS_STATUS_" + status;
        }

        private static string Compose(int status, string description, string detail)
        {
            string text = NameOf(status) + " (" + status + "): " + description;
            return string.IsNullOrEmpty(detail) ? text : text + ": " + detail;
        }

        // "InvalidInput" -> "INVALID_INPUT".
        private static string ScreamingSnake(string pascal)
        {
            var text = new System.Text.StringBuilder();
            for (int i = 0; i < pascal.Length; i++)
            {
                if (i > 0 && char.IsUpper(pascal[i])) text.Append('_');
                text.Append(char.ToUpperInvariant(pascal[i]));
            }
            return text.ToString();
        }

        private static readonly Dictionary<int, Func<int, string, string, RegularsException>> Subclasses =
            new Dictionary<int, Func<int, string, string, RegularsException>>
            {
                { (int)RegularsStatus.InvalidInput, (s, m, d) => new InvalidInputException(s, m, d) },
                { (int)RegularsStatus.Unavailable, (s, m, d) => new UnavailableException(s, m, d) },
                { (int)RegularsStatus.Timeout, (s, m, d) => new RegularsTimeoutException(s, m, d) },
                { (int)RegularsStatus.NotFound, (s, m, d) => new NotFoundException(s, m, d) },
                { (int)RegularsStatus.Denied, (s, m, d) => new DeniedException(s, m, d) },
                { (int)RegularsStatus.SpoolFull, (s, m, d) => new SpoolFullException(s, m, d) },
                { (int)RegularsStatus.Internal, (s, m, d) => new InternalException(s, m, d) },
                { (int)RegularsStatus.InvalidArgument, (s, m, d) => new InvalidArgumentException(s, m, d) },
                { (int)RegularsStatus.Protocol, (s, m, d) => new ProtocolException(s, m, d) },
                { (int)RegularsStatus.Io, (s, m, d) => new IoException(s, m, d) },
            };

        // The exception for a non-OK status: its own subclass, or the base for a newer status.
        public static RegularsException ForStatus(int status, string description, string detail)
        {
            Func<int, string, string, RegularsException> make;
            if (Subclasses.TryGetValue(status, out make)) return make(status, description, detail);
            return new RegularsException(status, description, detail);
        }
    }

    // The JSON given is malformed or breaks the schema; Detail names the field.
    public class InvalidInputException : RegularsException
    {
        public InvalidInputException(int s, string m, string d) : base(s, m, d) { }
    }

    // regularsd cannot be reached right now (for hints: show none and carry on).
    public class UnavailableException : RegularsException
    {
        public UnavailableException(int s, string m, string d) : base(s, m, d) { }
    }

    // The daemon or the spool disk did not finish within the budget. Named with the prefix so that
    // it does not clash with System.TimeoutException in files that use both namespaces.
    public class RegularsTimeoutException : RegularsException
    {
        public RegularsTimeoutException(int s, string m, string d) : base(s, m, d) { }
    }

    // The thing asked for does not exist.
    public class NotFoundException : RegularsException
    {
        public NotFoundException(int s, string m, string d) : base(s, m, d) { }
    }

    // Refused: authentication, role or consent.
    public class DeniedException : RegularsException
    {
        public DeniedException(int s, string m, string d) : base(s, m, d) { }
    }

    // The daemon is unreachable and the spool reached its size bound.
    public class SpoolFullException : RegularsException
    {
        public SpoolFullException(int s, string m, string d) : base(s, m, d) { }
    }

    // An unexpected failure inside the library or the daemon.
    public class InternalException : RegularsException
    {
        public InternalException(int s, string m, string d) : base(s, m, d) { }
    }

    // API misuse, such as a call on a handle that is not the library's.
    public class InvalidArgumentException : RegularsException
    {
        public InvalidArgumentException(int s, string m, string d) : base(s, m, d) { }
    }

    // The daemon speaks an incompatible or corrupt protocol.
    public class ProtocolException : RegularsException
    {
        public ProtocolException(int s, string m, string d) : base(s, m, d) { }
    }

    // The spool directory cannot be created, read or written.
    public class IoException : RegularsException
    {
        public IoException(int s, string m, string d) : base(s, m, d) { }
    }

    // libregulars could not be loaded from the file chosen (explicit path, REGULARS_PLUGIN or the
    // system name). Status is -1: the library never answered.
    public class RegularsLibraryException : RegularsException
    {
        // The file that was tried, as given.
        public string LibraryPath { get; private set; }

        public RegularsLibraryException(string libraryPath, string reason)
            : base("cannot load libregulars from " + libraryPath + ": " + reason)
        {
            LibraryPath = libraryPath;
        }
    }
}
