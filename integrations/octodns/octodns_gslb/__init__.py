'''octoDNS provider for gslb: ``octodns_gslb.GslbProvider``.

Configure it with the API's URL and a token with write scope::

    providers:
      gslb:
        class: octodns_gslb.GslbProvider
        api: http://127.0.0.1:8053
        token: env/GSLB_TOKEN
        # optional: region of values whose pool names no gslb region
        default_region: eu-west

Static records become record sets; dynamic records (pools, rules with geos and subnets,
fallback, value status, ``octodns.healthcheck``) become GSLB records over endpoints and
checks (``octodns_gslb.mapping``). Every ``_apply`` is one atomic write
(``POST /v1/changes``) that waits until every DNS node serves it (INSYNC); ``populate``
reads back exactly what ``_apply`` wrote, so a second ``octodns-sync`` plans no changes.
The zone itself (SOA, apex NS) must exist in gslb: it is the operator's.
'''

import logging
import time
from urllib.parse import quote

import requests
from octodns.provider import ProviderException
from octodns.provider.base import BaseProvider
from octodns.record import Record

from .mapping import (
    DYNAMIC_TYPES,
    LABEL_RECORD,
    SUPPORTS,
    Unrepresentable,
    dynamic_record_data,
    dynamic_resources,
    record_data_from_set,
    record_key,
    static_record_set,
)

__version__ = '0.1.0'


class GslbProvider(BaseProvider):
    '''Reads and writes one gslb cluster through its REST API.'''

    SUPPORTS_GEO = True
    SUPPORTS_DYNAMIC = True
    SUPPORTS_POOL_VALUE_STATUS = True
    SUPPORTS_DYNAMIC_SUBNETS = True
    SUPPORTS_MULTIVALUE_PTR = True
    SUPPORTS_ROOT_NS = False
    SUPPORTS = set(SUPPORTS)

    def __init__(
        self,
        id,
        api,
        token,
        default_region=None,
        sync_timeout=60,
        *args,
        **kwargs,
    ):
        self.log = logging.getLogger(f'GslbProvider[{id}]')
        super().__init__(id, *args, **kwargs)
        self.api = api.rstrip('/')
        self.default_region = default_region
        self.sync_timeout = float(sync_timeout)
        self._session = requests.Session()
        self._session.headers['Authorization'] = f'Bearer {token}'

    # -- HTTP ---------------------------------------------------------------------------

    def _call(self, method, path, body=None):
        response = self._session.request(
            method, f'{self.api}{path}', json=body, timeout=30
        )
        if response.status_code >= 400:
            raise ProviderException(
                f'gslb API {method} {path}: {response.status_code} {response.text}'
            )
        return response.json() if response.content else None

    def _list(self, path):
        items = []
        after = None
        while True:
            query = '?limit=1000' + (f'&after={quote(after, safe="")}' if after else '')
            page = self._call('GET', f'{path}{query}')
            items.extend(page['items'])
            after = page.get('next')
            if not after:
                return items

    def _zone(self, zone_name):
        response = self._session.get(
            f'{self.api}/v1/zones/{quote(zone_name, safe="")}', timeout=30
        )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ProviderException(
                f'gslb API GET zone {zone_name}: {response.status_code} {response.text}'
            )
        return response.json()

    # -- octoDNS ------------------------------------------------------------------------

    def populate(self, zone, target=False, lenient=False):
        self.log.debug('populate: name=%s, target=%s', zone.name, target)
        current = self._zone(zone.name)
        if current is None:
            return False
        before = len(zone.records)
        for record_set in current.get('records', []):
            converted = record_data_from_set(record_set, zone.name)
            if converted is None:
                continue
            name, data = converted
            zone.add_record(
                Record.new(zone, name, data, source=self, lenient=lenient),
                lenient=lenient,
            )
        endpoints = self._list('/v1/endpoints')
        checks = {
            check['endpoint']: check
            for check in self._list('/v1/checks')
            if check.get('endpoint')
        }
        records = self._list(f'/v1/zones/{quote(zone.name, safe="")}/gslb-records')
        for gslb_record in records:
            fqdn = gslb_record['name'].lower()
            if not fqdn.endswith('.'):
                fqdn = f'{fqdn}.{zone.name}'
            key = record_key(fqdn, gslb_record['type'])
            owned = [e for e in endpoints if e.get('labels', {}).get(LABEL_RECORD) == key]
            if not owned:
                self.log.info('populate: skipping %s, not written by octoDNS', key)
                continue
            name = '' if fqdn == zone.name else fqdn[: -(len(zone.name) + 1)]
            data = dynamic_record_data(gslb_record, owned, checks)
            zone.add_record(
                Record.new(zone, name, data, source=self, lenient=lenient),
                lenient=lenient,
            )
        self.log.info('populate: found %s records', len(zone.records) - before)
        return True

    def _apply(self, plan):
        desired = plan.desired
        zone_name = desired.name
        if self._zone(zone_name) is None:
            raise ProviderException(
                f'zone {zone_name} does not exist in gslb; create it first (gslbctl zone '
                'import), its SOA and apex NS are the operator\'s'
            )
        regions = {region['id'] for region in self._list('/v1/regions')}
        endpoints = self._list('/v1/endpoints')
        checks = self._list('/v1/checks')
        gslb_now = {
            (r['name'].lower(), r['type'])
            for r in self._list(f'/v1/zones/{quote(zone_name, safe="")}/gslb-records')
        }
        removals, puts, endpoint_puts, check_puts, check_deletes, endpoint_deletes = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        problems = []
        for change in plan.changes:
            existing = change.existing
            new = change.new
            record = new or existing
            fqdn = record.fqdn.lower()
            key = record_key(fqdn, record._type)
            owned = {
                e['id'] for e in endpoints if e.get('labels', {}).get(LABEL_RECORD) == key
            }
            kept = set()
            is_gslb_now = (fqdn, record._type) in gslb_now
            rtype = record._type
            if new is None:
                if is_gslb_now:
                    removals.append(
                        {'op': 'delete_gslb_record', 'zone': zone_name, 'name': fqdn, 'type': rtype}
                    )
                else:
                    removals.append(
                        {'op': 'delete_record', 'zone': zone_name, 'name': fqdn, 'type': rtype}
                    )
            elif getattr(new, 'dynamic', None) and rtype in DYNAMIC_TYPES:
                try:
                    new_endpoints, new_checks, gslb_record = dynamic_resources(
                        new, regions, self.default_region
                    )
                except Unrepresentable as error:
                    problems.append(str(error))
                    continue
                if existing is not None and not is_gslb_now:
                    removals.append(
                        {'op': 'delete_record', 'zone': zone_name, 'name': fqdn, 'type': rtype}
                    )
                for endpoint in new_endpoints:
                    kept.add(endpoint['id'])
                    endpoint_puts.append({'op': 'put_endpoint', 'endpoint': endpoint})
                for check in new_checks:
                    check_puts.append({'op': 'put_check', 'check': check})
                puts.append({'op': 'put_gslb_record', 'zone': zone_name, 'record': gslb_record})
            elif getattr(new, 'dynamic', None):
                problems.append(
                    f'{fqdn} {rtype}: dynamic records must be A, AAAA or CNAME in gslb'
                )
                continue
            else:
                if is_gslb_now:
                    removals.append(
                        {'op': 'delete_gslb_record', 'zone': zone_name, 'name': fqdn, 'type': rtype}
                    )
                puts.append(
                    {'op': 'put_record', 'zone': zone_name, 'record': static_record_set(new)}
                )
            new_check_ids = {c['check']['id'] for c in check_puts}
            for check in checks:
                if check.get('endpoint') in owned and check['id'] not in new_check_ids:
                    check_deletes.append({'op': 'delete_check', 'id': check['id']})
            for endpoint_id in sorted(owned - kept):
                endpoint_deletes.append({'op': 'delete_endpoint', 'id': endpoint_id})
        if problems:
            raise ProviderException(
                'gslb cannot represent, nothing written: ' + '; '.join(problems)
            )
        changes = removals + endpoint_puts + check_puts + puts + check_deletes + endpoint_deletes
        if not changes:
            return
        written = self._call('POST', '/v1/changes', {'changes': changes})
        version = written['version']
        self.log.info(
            '_apply: %d changes to %s at version %s, waiting for INSYNC',
            len(changes),
            zone_name,
            version,
        )
        self._wait_insync(version)

    def _wait_insync(self, version):
        deadline = time.monotonic() + self.sync_timeout
        delay = 0.02
        while True:
            response = self._session.get(f'{self.api}/v1/changes/{version}', timeout=30)
            if response.status_code == 200 and response.json().get('status') == 'INSYNC':
                return
            if time.monotonic() >= deadline:
                raise ProviderException(
                    f'version {version} not INSYNC on every DNS node after '
                    f'{self.sync_timeout}s: {response.text}'
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
