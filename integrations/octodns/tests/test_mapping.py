'''Unit tests of octodns_gslb.mapping: records convert to gslb resources and back to the
same octoDNS record (what makes a second octodns-sync plan nothing), and records gslb
cannot hold are refused by name.'''

import pytest
from octodns.record import Record
from octodns.zone import Zone

from octodns_gslb import GslbProvider
from octodns_gslb.mapping import (
    Unrepresentable,
    dynamic_record_data,
    dynamic_resources,
    record_data_from_set,
    static_record_set,
)

ZONE = Zone('example.com.', [])
PROVIDER = GslbProvider('test', api='http://127.0.0.1:1', token='unused-token-0123456789')

DYNAMIC = {
    'type': 'A',
    'ttl': 60,
    'values': ['192.0.2.99'],
    'octodns': {
        'healthcheck': {'host': 'www.example.com', 'path': '/ready', 'port': 8080,
                        'protocol': 'HTTP'}
    },
    'dynamic': {
        'pools': {
            'eu-west': {
                'fallback': 'us-east',
                'values': [
                    {'value': '192.0.2.10', 'weight': 3},
                    {'value': '192.0.2.11', 'status': 'down'},
                ],
            },
            'us-east': {'values': [{'value': '192.0.2.20', 'status': 'up'}]},
            'office': {'values': [{'value': '192.0.2.30'}]},
        },
        'rules': [
            {'subnets': ['198.51.100.0/24'], 'pool': 'office'},
            {'geos': ['EU', 'NA-US-KY'], 'pool': 'eu-west'},
            {'pool': 'us-east'},
        ],
    },
}


def round_trip(data):
    record = Record.new(ZONE, 'www', data)
    endpoints, checks, gslb_record = dynamic_resources(record, {'eu-west', 'us-east'}, 'us-east')
    by_endpoint = {check['endpoint']: check for check in checks}
    back = Record.new(ZONE, 'www', dynamic_record_data(gslb_record, endpoints, by_endpoint))
    return record, back, endpoints, checks, gslb_record


def test_dynamic_record_round_trips():
    record, back, endpoints, checks, gslb_record = round_trip(DYNAMIC)
    assert record.changes(back, PROVIDER) is None
    assert back.octodns['healthcheck']['path'] == '/ready'
    # status: down disables, up has no check, obey (the default) has one.
    by_value = {e['address']: e for e in endpoints}
    assert by_value['192.0.2.11']['enabled'] is False
    assert {c['endpoint'] for c in checks} == {
        by_value['192.0.2.10']['id'],
        by_value['192.0.2.30']['id'],
    }
    assert by_value['192.0.2.30']['region'] == 'us-east'
    geo = gslb_record['policy']['geo']
    assert geo['rules'][0]['match'] == [{'cidr': '198.51.100.0/24'}]
    assert geo['rules'][1]['match'] == [{'continent': 'EU'}, {'subdivision': 'US-KY'}]
    # eu-west falls back to us-east, then to the record's own values.
    chain = geo['rules'][1]['node']['failover']
    assert len(chain) == 3
    assert chain[2] == {'endpoints': [by_value['192.0.2.99']['id']]}


def test_catch_all_only_and_cname():
    data = {
        'type': 'CNAME',
        'ttl': 30,
        'value': 'fallback.example.net.',
        'dynamic': {
            'pools': {'one': {'values': [{'value': 'one.example.net.'}]}},
            'rules': [{'pool': 'one'}],
        },
    }
    record = Record.new(ZONE, 'www', data)
    endpoints, checks, gslb_record = dynamic_resources(record, {'home'}, 'home')
    assert checks == []
    assert 'failover' in gslb_record['policy']
    back = Record.new(ZONE, 'www', dynamic_record_data(gslb_record, endpoints, {}))
    assert record.changes(back, PROVIDER) is None


def test_static_records_round_trip():
    for name, data in [
        ('', {'type': 'MX', 'ttl': 300, 'values': [{'preference': 10, 'exchange': 'mx.example.com.'}]}),
        ('txt', {'type': 'TXT', 'ttl': 300, 'values': ['v=spf1 -all', 'a\\; b']}),
        ('_sip._tcp', {'type': 'SRV', 'ttl': 300, 'values': [
            {'priority': 1, 'weight': 2, 'port': 5060, 'target': 'sip.example.com.'}]}),
        ('caa', {'type': 'CAA', 'ttl': 300, 'values': [{'flags': 0, 'tag': 'issue', 'value': 'ca.example.net'}]}),
        ('alias', {'type': 'CNAME', 'ttl': 300, 'value': 'www.example.com.'}),
    ]:
        record = Record.new(ZONE, name, data)
        record_set = static_record_set(record)
        back_name, back_data = record_data_from_set(record_set, ZONE.name)
        assert back_name == name
        back = Record.new(ZONE, back_name, back_data)
        assert record.changes(back, PROVIDER) is None, (record_set, back_data)


def test_unrepresentable_records_are_named():
    data = dict(DYNAMIC)
    data['dynamic'] = dict(DYNAMIC['dynamic'])
    data['dynamic']['pools'] = {'mars': {'values': [{'value': '192.0.2.1'}]}}
    data['dynamic']['rules'] = [{'pool': 'mars'}]
    record = Record.new(ZONE, 'www', data)
    with pytest.raises(Unrepresentable, match="www.example.com. A: pool 'mars' names no gslb region"):
        dynamic_resources(record, {'eu-west'}, None)
