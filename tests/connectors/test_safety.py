"""Where a connection may send requests: its own origin, over https, to public addresses."""
import pytest

from connectors.errors import UnsafeDestination
from connectors.safety import Destination


def resolver_for(addresses):
    return lambda host, port: addresses


@pytest.mark.parametrize("base_url, resolved, why", [
    ("http://jira.example.com", ["93.184.216.34"], "plain http"),
    ("https://10.1.2.3", ["10.1.2.3"], "private address"),
    ("https://intranet.example.com", ["192.168.0.10"], "private address"),
    ("https://ticketing.example.com", ["169.254.169.254"], "cloud metadata address"),
    ("https://link.example.com", ["169.254.10.1"], "link-local address"),
    ("https://127.0.0.1:8443", ["127.0.0.1"], "loopback address"),
    ("https://sneaky.example.com", ["::ffff:10.0.0.1"], "private address"),
])
def test_unsafe_base_urls_are_refused(base_url, resolved, why):
    with pytest.raises(UnsafeDestination) as raised:
        Destination("prod", base_url, resolver=resolver_for(resolved)).check_addresses()
    assert why.split()[-1] in str(raised.value)


def test_on_premises_allows_private_addresses_but_never_metadata():
    Destination("onprem", "https://jira.corp", on_premises=True, resolver=resolver_for(["10.0.0.7"])).check_addresses()
    with pytest.raises(UnsafeDestination, match="metadata"):
        Destination("onprem", "https://meta.corp", on_premises=True,
                    resolver=resolver_for(["169.254.169.254"])).check_addresses()


def test_loopback_http_only_with_allow_loopback_http_and_a_loopback_host():
    Destination("sim", "http://127.0.0.1:5000", allow_loopback_http=True).check_url("http://127.0.0.1:5000/api/x")
    with pytest.raises(UnsafeDestination, match="plain http"):
        Destination("sim", "http://127.0.0.1:5000")
    with pytest.raises(UnsafeDestination):
        # a public-looking name that resolves to loopback is not the simulator
        Destination("sim", "http://rebind.example.com", allow_loopback_http=True,
                    resolver=resolver_for(["127.0.0.1"])).check_addresses()


def test_other_origins_are_refused_even_on_the_same_host():
    destination = Destination("sim", "http://127.0.0.1:5000", allow_loopback_http=True)
    for url in ("http://127.0.0.1:5001/api", "https://127.0.0.1:5000/api", "http://evil.example/api"):
        with pytest.raises(UnsafeDestination, match="not the configured instance"):
            destination.check_url(url)


def test_a_public_instance_is_accepted():
    Destination("cloud", "https://acme.atlassian.net", resolver=resolver_for(["104.192.136.1"])).check_url(
        "https://acme.atlassian.net/rest/api/2/myself")
