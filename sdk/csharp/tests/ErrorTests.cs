// Every status of regulars.h becomes its own exception type; a newer status the base type.
using System;
using NUnit.Framework;

namespace Regulars.Tests
{
    [TestFixture]
    public class ErrorTests
    {
        [TestCase(1, typeof(InvalidInputException), "REGULARS_INVALID_INPUT")]
        [TestCase(2, typeof(UnavailableException), "REGULARS_UNAVAILABLE")]
        [TestCase(3, typeof(RegularsTimeoutException), "REGULARS_TIMEOUT")]
        [TestCase(4, typeof(NotFoundException), "REGULARS_NOT_FOUND")]
        [TestCase(5, typeof(DeniedException), "REGULARS_DENIED")]
        [TestCase(6, typeof(SpoolFullException), "REGULARS_SPOOL_FULL")]
        [TestCase(7, typeof(InternalException), "REGULARS_INTERNAL")]
        [TestCase(8, typeof(InvalidArgumentException), "REGULARS_INVALID_ARGUMENT")]
        [TestCase(9, typeof(ProtocolException), "REGULARS_PROTOCOL")]
        [TestCase(10, typeof(IoException), "REGULARS_IO")]
        public void EachStatusHasItsOwnException(int status, Type expected, string name)
        {
            string description = RegularsClient.Describe(status);
            RegularsException error = RegularsException.ForStatus(status, description, "some detail");
            Assert.AreEqual(expected, error.GetType());
            Assert.AreEqual(status, error.Status);
            Assert.AreEqual(name, error.StatusName);
            Assert.AreNotEqual("unknown status", description, "regulars_strerror knows " + name);
            Assert.AreEqual(name + " (" + status + "): " + description + ": some detail", error.Message);
        }

        [Test]
        public void AStatusNewerThanTheBindingIsTheBaseType()
        {
            RegularsException error = RegularsException.ForStatus(42, RegularsClient.Describe(42), "");
            Assert.AreEqual(typeof(RegularsException), error.GetType());
            Assert.AreEqual(42, error.Status);
            Assert.AreEqual("REGULARS_STATUS_42", error.StatusName);
            Assert.AreEqual("unknown status", error.Description);
        }
    }
}
