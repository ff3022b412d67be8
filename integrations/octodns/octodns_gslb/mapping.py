'''The pure mapping between octoDNS records and gslb's REST resources, both ways.

- A record without ``dynamic`` is a static record set; its values in RDATA presentation
  format (``to_rdata_text``/``from_rdata_text``).
- A dynamic A, AAAA or CNAME record is one GSLB record and its endpoints:
  every pool value is an endpoint in the region named like the pool (or the provider's
  ``default_region``), weighted as the value; each pool is ``failover`` of its weighted
  values, then its fallback pools', then the record's own values; rules become a ``geo``
  policy (``EU`` → continent, ``NA-US`` → country, ``NA-US-KY`` → subdivision ``US-KY``,
  subnets → CIDR), the catch-all rule its default.
- Value status: ``down`` → the endpoint disabled; ``up`` → no check (records count
  unknown health as up); ``obey`` → a check built from ``octodns.healthcheck`` (HTTP,
  HTTPS or TCP; octoDNS's defaults when absent). CNAME values carry no address to probe,
  so ``obey`` there means no check.
- Labels on the endpoints (``octodns.record``, ``octodns.pool``, ``octodns.fallback``,
  ``octodns.status``, ``octodns.index``) keep what the policy tree does not, so
  ``populate`` reads back exactly what ``_apply`` wrote.

Anything that cannot be represented raises ``Unrepresentable`` naming the record.
'''

import hashlib
import re

from octodns.record import Record

#: Every type gslb serves that octoDNS models.
SUPPORTS = {
    'A',
    'AAAA',
    'CAA',
    'CNAME',
    'MX',
    'NS',
    'PTR',
    'SPF',
    'SRV',
    'SSHFP',
    'TLSA',
    'TXT',
}

#: Types a dynamic record may have (GSLB records).
DYNAMIC_TYPES = {'A', 'AAAA', 'CNAME'}

LABEL_RECORD = 'octodns.record'
LABEL_POOL = 'octodns.pool'
LABEL_FALLBACK = 'octodns.fallback'
LABEL_STATUS = 'octodns.status'
LABEL_INDEX = 'octodns.index'

#: octoDNS's healthcheck defaults.
HEALTHCHECK_DEFAULTS = {'path': '/_dns', 'port': 443, 'protocol': 'HTTPS'}


class Unrepresentable(Exception):
    '''A record gslb cannot hold, with the reason.'''


def record_key(fqdn, _type):
    '''The value of ``octodns.record`` on a record's endpoints.'''
    return f'{fqdn.lower()} {_type}'


def static_record_set(record):
    '''The ``RecordSetDto`` of a non-dynamic record.'''
    values = record.values if hasattr(record, 'values') else [record.value]
    return {
        'name': record.fqdn,
        'type': record._type,
        'ttl': record.ttl,
        'data': [value.to_rdata_text() for value in values],
    }


def record_data_from_set(record_set, zone_name):
    '''octoDNS ``(name, data)`` of a ``RecordSetDto`` (``None`` for types octoDNS or
    this provider does not handle, the SOA and the apex NS).'''
    _type = record_set['type']
    fqdn = absolute(record_set['name'], zone_name)
    name = relative(fqdn, zone_name)
    if _type not in SUPPORTS or (_type == 'NS' and name == ''):
        return None
    record_cls = Record.registered_types()[_type]
    values = record_cls.parse_rdata_texts(record_set['data'])
    data = {'type': _type, 'ttl': record_set.get('ttl') or 300}
    if _type == 'CNAME':
        data['value'] = values[0]
    else:
        data['values'] = values
    return name, data


def dynamic_resources(record, regions, default_region):
    '''The endpoints, checks and GSLB record of a dynamic record.

    :param regions: ids of the regions that exist in gslb
    :param default_region: region of values whose pool names no region (may be None)
    :returns: ``(endpoints, checks, gslb_record)``
    :raises Unrepresentable: naming the record and why
    '''
    fqdn = record.fqdn
    label = f'{fqdn} {record._type}'
    if record._type not in DYNAMIC_TYPES:
        raise Unrepresentable(f'{label}: dynamic records must be A, AAAA or CNAME in gslb')
    dynamic = record.dynamic
    key = record_key(fqdn, record._type)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    healthcheck = dict(HEALTHCHECK_DEFAULTS)
    healthcheck['host'] = fqdn[:-1]
    healthcheck.update(record.octodns.get('healthcheck', {}) or {})
    protocol = str(healthcheck.get('protocol', 'HTTPS')).upper()
    if protocol not in ('HTTP', 'HTTPS', 'TCP'):
        raise Unrepresentable(
            f'{label}: octodns.healthcheck.protocol {protocol!r} is not HTTP, HTTPS or TCP'
        )

    def region_of(pool_name):
        if pool_name in regions:
            return pool_name
        if default_region:
            if default_region not in regions:
                raise Unrepresentable(
                    f'{label}: default_region {default_region!r} does not exist in gslb'
                )
            return default_region
        raise Unrepresentable(
            f'{label}: pool {pool_name!r} names no gslb region and the provider has no '
            'default_region'
        )

    endpoints = []
    checks = []

    def endpoint(endpoint_id, region, value, weight, status, labels):
        body = {
            'id': endpoint_id,
            'region': region,
            'weight': weight,
            'enabled': status != 'down',
            'labels': dict(
                labels,
                **{LABEL_RECORD: key, LABEL_STATUS: status},
            ),
        }
        if record._type == 'CNAME':
            body['cname'] = value
        else:
            body['address'] = value
        endpoints.append(body)
        if status == 'obey' and record._type != 'CNAME':
            checks.append(check_for(endpoint_id, healthcheck))
        return endpoint_id

    pool_ids = {}
    pool_names = sorted(dynamic.pools)
    for pool_index, pool_name in enumerate(pool_names):
        pool = dynamic.pools[pool_name].data
        slug = re.sub('[^a-z0-9]+', '-', pool_name.lower()).strip('-')[:30] or 'pool'
        region = region_of(pool_name)
        labels = {LABEL_POOL: pool_name}
        if pool.get('fallback'):
            labels[LABEL_FALLBACK] = pool['fallback']
        ids = []
        for value_index, value in enumerate(pool['values']):
            ids.append(
                endpoint(
                    f'oct-{digest}-p{pool_index}-{slug}-{value_index}',
                    region,
                    value['value'],
                    int(value.get('weight', 1)),
                    value.get('status', 'obey'),
                    dict(labels, **{LABEL_INDEX: str(value_index)}),
                )
            )
        pool_ids[pool_name] = ids
    values = record.values if hasattr(record, 'values') else [record.value]
    first_region = region_of(pool_names[0]) if pool_names else default_region
    default_ids = [
        endpoint(
            f'oct-{digest}.{index}',
            first_region,
            value,
            1,
            'up',
            {LABEL_INDEX: str(index)},
        )
        for index, value in enumerate(values)
    ]
    default_node = {'endpoints': default_ids}

    def chain(pool_name):
        nodes = []
        seen = set()
        while pool_name and pool_name not in seen:
            seen.add(pool_name)
            pool = dynamic.pools[pool_name].data
            nodes.append(
                {
                    'weighted': [
                        {'weight': int(value.get('weight', 1)), 'node': {'endpoints': [i]}}
                        for value, i in zip(pool['values'], pool_ids[pool_name])
                    ]
                }
            )
            pool_name = pool.get('fallback')
        nodes.append(default_node)
        return {'failover': nodes}

    geo_rules = []
    catch_all = None
    for rule in dynamic.rules:
        rule = rule.data
        matches = [geo_match(geo, label) for geo in rule.get('geos', [])]
        matches += [{'cidr': subnet} for subnet in rule.get('subnets', [])]
        if matches:
            geo_rules.append({'match': matches, 'node': chain(rule['pool'])})
        elif catch_all is None:
            catch_all = rule['pool']
    default = chain(catch_all) if catch_all else default_node
    policy = {'geo': {'rules': geo_rules, 'default': default}} if geo_rules else default
    gslb_record = {
        'name': fqdn,
        'type': record._type,
        'ttl': record.ttl,
        'policy': policy,
        'max_answers': 1,
        'when_all_down': 'fail_open',
        'unknown_as': 'up',
    }
    return endpoints, checks, gslb_record


def check_for(endpoint_id, healthcheck):
    '''The gslb check of one ``obey`` endpoint from ``octodns.healthcheck``.'''
    protocol = str(healthcheck.get('protocol', 'HTTPS')).upper()
    port = int(healthcheck.get('port', 443))
    if protocol == 'TCP':
        kind = {'type': 'tcp', 'port': port}
    else:
        kind = {
            'type': protocol.lower(),
            'port': port,
            'path': healthcheck.get('path', '/_dns'),
        }
        if healthcheck.get('host'):
            kind['host'] = healthcheck['host']
    return {'id': f'{endpoint_id}-hc', 'endpoint': endpoint_id, 'kind': kind}


def geo_match(geo, label):
    '''An octoDNS geo code as a gslb geo match.'''
    pieces = geo.split('-')
    if len(pieces) == 1:
        return {'continent': pieces[0]}
    if len(pieces) == 2:
        return {'country': pieces[1]}
    if len(pieces) == 3:
        return {'subdivision': f'{pieces[1]}-{pieces[2]}'}
    raise Unrepresentable(f'{label}: geo {geo!r} is not CONTINENT[-COUNTRY[-PROVINCE]]')


def geo_code(match):
    '''A gslb geo match as an octoDNS geo code (``None`` for a CIDR).'''
    from octodns.record.geo import GeoCodes

    if 'continent' in match:
        return match['continent']
    if 'country' in match:
        return GeoCodes.country_to_code(match['country'])
    if 'subdivision' in match:
        country, province = match['subdivision'].split('-', 1)
        continent = GeoCodes.country_to_code(country).split('-')[0]
        return f'{continent}-{country}-{province}'
    return None


def dynamic_record_data(gslb_record, endpoints, checks):
    '''octoDNS data of a GSLB record written by this provider.

    :param endpoints: the record's endpoints (``octodns.record`` label)
    :param checks: every check, by endpoint id
    '''
    _type = gslb_record['type']
    pools = {}
    defaults = []
    healthcheck = None
    for endpoint in sorted(
        endpoints, key=lambda e: int(e['labels'].get(LABEL_INDEX, '0'))
    ):
        labels = endpoint['labels']
        value = endpoint.get('cname') or endpoint.get('address')
        pool_name = labels.get(LABEL_POOL)
        if pool_name is None:
            defaults.append(value)
            continue
        pool = pools.setdefault(pool_name, {'values': []})
        if labels.get(LABEL_FALLBACK):
            pool['fallback'] = labels[LABEL_FALLBACK]
        pool['values'].append(
            {
                'value': value,
                'weight': endpoint.get('weight', 1),
                'status': labels.get(LABEL_STATUS, 'obey'),
            }
        )
        check = checks.get(endpoint['id'])
        if check and healthcheck is None:
            healthcheck = healthcheck_of(check)

    def pool_of(node):
        while 'failover' in node:
            node = node['failover'][0]
        if 'weighted' in node:
            endpoint_id = node['weighted'][0]['node']['endpoints'][0]
            for endpoint in endpoints:
                if endpoint['id'] == endpoint_id:
                    return endpoint['labels'].get(LABEL_POOL)
        return None

    policy = gslb_record['policy']
    rules = []
    if 'geo' in policy:
        for rule in policy['geo']['rules']:
            data = {'pool': pool_of(rule['node'])}
            geos = [geo_code(m) for m in rule['match'] if 'cidr' not in m]
            subnets = [m['cidr'] for m in rule['match'] if 'cidr' in m]
            if geos:
                data['geos'] = geos
            if subnets:
                data['subnets'] = subnets
            rules.append(data)
        default_pool = pool_of(policy['geo']['default'])
    else:
        default_pool = pool_of(policy)
    if default_pool:
        rules.append({'pool': default_pool})
    data = {
        'type': _type,
        'ttl': gslb_record['ttl'],
        'dynamic': {'pools': pools, 'rules': rules},
    }
    if _type == 'CNAME':
        data['value'] = defaults[0] if defaults else None
    else:
        data['values'] = defaults
    if healthcheck:
        data['octodns'] = {'healthcheck': healthcheck}
    return data


def healthcheck_of(check):
    '''``octodns.healthcheck`` of a check this provider wrote.'''
    kind = check['kind']
    if kind['type'] == 'tcp':
        return {'protocol': 'TCP', 'port': kind['port']}
    healthcheck = {
        'protocol': kind['type'].upper(),
        'port': kind.get('port', 443 if kind['type'] == 'https' else 80),
        'path': kind.get('path', '/'),
    }
    if kind.get('host'):
        healthcheck['host'] = kind['host']
    return healthcheck


def absolute(name, zone_name):
    '''A record name as the API lists it (absolute, relative or ``@``), made absolute.'''
    name = name.lower()
    if name == '@':
        return zone_name
    if name.endswith('.'):
        return name
    return f'{name}.{zone_name}'


def relative(fqdn, zone_name):
    '''An absolute name relative to the zone (``''`` for the apex).'''
    if fqdn == zone_name:
        return ''
    return fqdn[: -(len(zone_name) + 1)]
