#!/usr/bin/env python3
"""A Kubernetes API server emulator for end-to-end tests.

Built on kmock (https://pypi.org/project/kmock/): kmock supplies the aiohttp
server, the request-matching DSL, the discovery scaffold and the Status error
format; the `Emulator` subclass below adds what a kube-rs client relies on:
a global resourceVersion counter, list kinds and list resourceVersions,
watches that resume from a resourceVersion (or answer 410 Expired), bookmarks,
label and field selectors, pagination, PUT/PATCH semantics including the
`status` subresource and server-side apply, an optional state file, a record
of write requests and fault injection.

Usage:

    python tests/k8s/emulator.py --port 0 [--host 127.0.0.1] [--state FILE]
                                 [--kubeconfig PATH] [--bookmark-interval 1.0]

It prints `listening on http://HOST:PORT` once ready and serves until SIGTERM
or SIGINT. See tests/k8s/README.md for the endpoints and the fidelity notes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import dataclasses
import datetime
import json
import os
import random
import re
import signal
import sys
import time
import uuid
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
import yaml

try:
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _YamlLoader = yaml.SafeLoader


# --------------------------------------------------------------------------
# The served resources.

@dataclasses.dataclass(frozen=True)
class Res:
    group: str
    versions: tuple[str, ...]  # the first one is the preferred version
    plural: str
    kind: str
    namespaced: bool = True
    status: bool = False  # has a `status` subresource
    shortnames: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # field selector labels beyond metadata.name/namespace

    @property
    def gp(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """As in error messages: `mappings.getambassador.io`, `services`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def gv(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version


AMBASSADOR_KINDS = [
    'Mapping', 'Host', 'Listener', 'TLSContext', 'Module', 'TCPMapping',
    'AuthService', 'RateLimitService', 'LogService', 'TracingService',
    'KubernetesEndpointResolver', 'KubernetesServiceResolver', 'ConsulResolver',
    'DevPortal',
]

EVENT_FIELDS = (
    'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
    'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion',
    'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type',
)

RESOURCES: list[Res] = [
    *[
        Res('getambassador.io', ('v3alpha1', 'v2'), kind.lower() + 's', kind,
            status=True, categories=('ambassador-crds',))
        for kind in AMBASSADOR_KINDS
    ],
    Res('', ('v1',), 'namespaces', 'Namespace', namespaced=False, status=True,
        shortnames=('ns',), fields=('status.phase',)),
    Res('', ('v1',), 'services', 'Service', status=True, shortnames=('svc',)),
    Res('', ('v1',), 'endpoints', 'Endpoints', shortnames=('ep',)),
    Res('', ('v1',), 'secrets', 'Secret', fields=('type',)),
    Res('', ('v1',), 'configmaps', 'ConfigMap', shortnames=('cm',)),
    Res('', ('v1',), 'events', 'Event', shortnames=('ev',), fields=EVENT_FIELDS),
    Res('events.k8s.io', ('v1',), 'events', 'Event', shortnames=('ev',),
        fields=('regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid',
                'reason', 'reportingController', 'type')),
    Res('discovery.k8s.io', ('v1',), 'endpointslices', 'EndpointSlice'),
    Res('networking.k8s.io', ('v1',), 'ingresses', 'Ingress', status=True, shortnames=('ing',)),
    Res('networking.k8s.io', ('v1',), 'ingressclasses', 'IngressClass', namespaced=False),
    Res('coordination.k8s.io', ('v1',), 'leases', 'Lease'),
]

VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

REASONS = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
    405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType',
    422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable',
    504: 'Timeout',
}


def api_error(code: int, message: str, reason: str | None = None, details: Any = None) -> kmock.KubernetesError:
    return kmock.KubernetesError(status=code, reason=reason or REASONS.get(code, 'Unknown'),
                                 message=message, details=details)


def status_body(code: int, reason: str | None, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        'kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
        'status': 'Failure', 'message': message,
        'reason': reason or REASONS.get(code, 'Unknown'), 'code': code,
    }
    if details:
        body['details'] = details
    return body


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode()


def json_response(obj: Any, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.Response(body=dumps(obj), status=status, content_type='application/json')


def now_ts() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_ts(ts: str) -> float:
    try:
        return datetime.datetime.strptime(ts, '%Y-%m-%dT%H:%M:%SZ').replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return time.time()


def human_age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 3600 * 3:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


# --------------------------------------------------------------------------
# Selectors.

_LABEL_KEY = re.compile(r'^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$')
_LABEL_VALUE = re.compile(r'^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$')
_SET_REQ = re.compile(r'^\s*(\S+)\s+(in|notin)\s+\((.*)\)\s*$')


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, ''
    for ch in s:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s: str | None) -> list[tuple[str, str, Any]]:
    """`a=b,c!=d,e,!f,g in (x,y),h notin (z)` → [(key, op, value)]."""
    if not s:
        return []
    reqs: list[tuple[str, str, Any]] = []
    for part in _split_top(s):
        if m := _SET_REQ.match(part):
            key, op = m[1], m[2]
            values = {v.strip() for v in m[3].split(',') if v.strip()}
            bad = [v for v in values if not _LABEL_VALUE.match(v)]
            if bad:
                raise api_error(400, f"unable to parse requirement: invalid label value: {bad[0]!r}")
            req = (key, op, values)
        elif part.startswith('!'):
            req = (part[1:].strip(), '!exists', None)
        elif '!=' in part:
            key, value = part.split('!=', 1)
            req = (key.strip(), '!=', value.strip())
        elif '==' in part:
            key, value = part.split('==', 1)
            req = (key.strip(), '=', value.strip())
        elif '=' in part:
            key, value = part.split('=', 1)
            req = (key.strip(), '=', value.strip())
        else:
            req = (part, 'exists', None)
        if not _LABEL_KEY.match(req[0]):
            raise api_error(400, f"unable to parse requirement: invalid label key {req[0]!r}")
        if req[1] in ('=', '!=') and not _LABEL_VALUE.match(req[2]):
            raise api_error(400, f"unable to parse requirement: invalid label value: {req[2]!r}")
        reqs.append(req)
    return reqs


def labels_match(reqs: list[tuple[str, str, Any]], obj: dict[str, Any]) -> bool:
    if not reqs:
        return True
    labels = obj.get('metadata', {}).get('labels') or {}
    for key, op, value in reqs:
        present = key in labels
        if op == '=' and not (present and labels[key] == value):
            return False
        if op == '!=' and present and labels[key] == value:
            return False
        if op == 'in' and not (present and labels[key] in value):
            return False
        if op == 'notin' and present and labels[key] in value:
            return False
        if op == 'exists' and not present:
            return False
        if op == '!exists' and present:
            return False
    return True


def parse_field_selector(s: str | None, res: Res) -> list[tuple[str, str, str]]:
    if not s:
        return []
    allowed = {'metadata.name', 'metadata.namespace', *res.fields}
    reqs = []
    for part in _split_top(s):
        if '!=' in part:
            key, value = part.split('!=', 1)
            op = '!='
        elif '==' in part:
            key, value = part.split('==', 1)
            op = '='
        elif '=' in part:
            key, value = part.split('=', 1)
            op = '='
        else:
            raise api_error(400, f"invalid selector: '{s}'; can't understand '{part}'")
        key = key.strip()
        if key not in allowed:
            raise api_error(400, f'field label not supported: {key}')
        reqs.append((key, op, value.strip()))
    return reqs


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split('.'):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if path == 'source' and isinstance(cur, dict):
        cur = cur.get('component')
    return '' if cur is None else str(cur)


def fields_match(reqs: list[tuple[str, str, str]], obj: dict[str, Any]) -> bool:
    for key, op, value in reqs:
        actual = _field_value(obj, key)
        if (actual == value) != (op == '='):
            return False
    return True


# --------------------------------------------------------------------------
# Patches.

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (returns a new value; the inputs are untouched)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strip_directives(patch: Any) -> Any:
    """Drop strategic-merge-patch directives (`$patch`, `$setElementOrder/…`, `$retainKeys`…)."""
    if isinstance(patch, dict):
        return {k: strip_directives(v) for k, v in patch.items() if not k.startswith('$')}
    if isinstance(patch, list):
        return [strip_directives(v) for v in patch if not (isinstance(v, dict) and '$patch' in v)]
    return patch


def leaf_paths(value: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Paths of the leaves of a nested dict; lists and scalars are leaves."""
    if isinstance(value, dict) and value:
        out: set[tuple[str, ...]] = set()
        for k, v in value.items():
            out |= leaf_paths(v, prefix + (k,))
        return out
    return {prefix} if prefix else set()


def remove_path(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    """Remove a leaf and prune the dicts it leaves empty (in place, on a private copy)."""
    chain = [obj]
    for key in path[:-1]:
        nxt = chain[-1].get(key)
        if not isinstance(nxt, dict):
            return
        chain.append(nxt)
    chain[-1].pop(path[-1], None)
    for i in range(len(chain) - 1, 0, -1):
        if not chain[i]:
            chain[i - 1].pop(path[i - 1], None)


def without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get('metadata') or {})
    meta.pop('resourceVersion', None)
    return {**obj, 'metadata': meta}


def partial(obj: dict[str, Any]) -> dict[str, Any]:
    """The metadata-only form (`Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`)."""
    return {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1', 'metadata': obj['metadata']}


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ('metadata', 'status', 'apiVersion', 'kind')}


# --------------------------------------------------------------------------
# Routing of resource paths (kmock's own parser does not know `/api/v1/namespaces/NAME`).

@dataclasses.dataclass
class Route:
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    sub: str | None


def parse_route(path: str) -> Route | None:
    parts = [p for p in path.split('/') if p]
    if len(parts) >= 3 and parts[0] == 'api':
        group, version, rest = '', parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == 'apis':
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if group == '' and rest[0] == 'namespaces' and (len(rest) <= 2 or rest[2] in ('status', 'finalize')):
        pass  # the namespaces themselves: /api/v1/namespaces[/NAME[/status]]
    elif rest[0] == 'namespaces' and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) >= 2 else None
    sub = '/'.join(rest[2:]) or None
    return Route(group, version, plural, namespace, name, sub)


@dataclasses.dataclass
class Event:
    rv: int
    gp: tuple[str, str]
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


# --------------------------------------------------------------------------
# The emulator.

class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator, with its object handling replaced by a resourceVersion-tracking store."""

    def __init__(self, *, state_path: str | None = None, bookmark_interval: float = 1.0,
                 history: int = 200_000, auto_namespaces: bool = False, record_limit: int = 100_000,
                 log: bool = False, save_state: bool = True) -> None:
        super().__init__()
        self.state_path = state_path
        self.save_state = save_state
        self.bookmark_interval = bookmark_interval
        self.history = history
        self.auto_namespaces = auto_namespaces
        self.record_limit = record_limit
        self.log = log
        self.address = ''

        self.by_gvp: dict[tuple[str, str, str], Res] = {}
        self.by_gk: dict[tuple[str, str], Res] = {}
        for res in RESOURCES:
            self.by_gk[(res.group, res.kind)] = res
            for version in res.versions:
                self.by_gvp[(res.group, version, res.plural)] = res
                # Declared to kmock, which serves them in discovery.
                self.resources[f"{res.gv(version)}/{res.plural}"] = kmock.ResourceInfo(
                    kind=res.kind, singular=res.singular, namespaced=res.namespaced,
                    verbs=VERBS, shortnames=res.shortnames, categories=res.categories,
                    subresources={'status'} if res.status else set(),
                )

        self.store: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {
            res.gp: {} for res in RESOURCES}
        self.applied: dict[tuple[Any, ...], dict[str, Any]] = {}  # (gp, ns, name, sub) → manager → body
        self.rv = 0
        self.base_rv = 0  # the oldest resourceVersion a watch may start from
        self.events: list[Event] = []
        self.events_floor = 0  # events[i].rv == events_floor + 1 + i
        self.changed = asyncio.Event()
        self.stopping = asyncio.Event()
        self.cluster_ip = 0
        self.snapshots: dict[str, tuple[float, int, list[dict[str, Any]]]] = {}
        self.recorded: list[dict[str, Any]] = []
        self.record_seq = 0
        self.faults: list[dict[str, Any]] = []
        self.saved_seq = 0
        self.dirty_seq = 0
        self.saving: asyncio.Future[None] | None = None
        self.watchers = 0

        # Private endpoints, served through kmock's DSL.
        self['get /_emulator/requests'] << self._recorded
        self['delete /_emulator/requests'] << self._clear_requests
        self['get /_emulator/fail'] << (lambda request: self.faults)
        self['post /_emulator/fail'] << self._add_fault
        self['delete /_emulator/fail'] << self._clear_faults
        self['get /_emulator/stats'] << self._stats
        for probe in ('/healthz', '/livez', '/readyz'):
            self[f'get {probe}'] << b'ok'
        self['get /openapi/v2'] << kmock.KubernetesNotFoundError()
        self['get /openapi/v3'] << kmock.KubernetesNotFoundError()

    # ---------------------------------------------------------------- state

    def load_state(self) -> None:
        data: Any = None
        stored_rv = 0
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding='utf-8') as f:
                text = f.read()
            data = json.loads(text) if text.strip() else None
        items: list[dict[str, Any]] = []
        if isinstance(data, list):
            items = data
        elif isinstance(data, dict):
            items = data.get('objects', data.get('items')) or []
            try:
                stored_rv = int(data.get('resourceVersion') or 0)
            except (TypeError, ValueError):
                stored_rv = 0
        # A resourceVersion this process issues is never one an earlier process issued: start
        # above the stored counter and above the wall clock in microseconds (a process cannot
        # issue more than one resourceVersion per microsecond).
        self.rv = max(stored_rv, int(time.time() * 1_000_000))
        self.base_rv = self.events_floor = self.rv

        pending: list[tuple[Res, dict[str, Any]]] = []
        for obj in items:
            if not isinstance(obj, dict):
                raise SystemExit(f"state: not an object: {obj!r:.80}")
            group, _, version = (obj.get('apiVersion') or '').rpartition('/')
            res = self.by_gk.get((group, obj.get('kind', '')))
            if res is None:
                raise SystemExit(f"state: unknown kind {obj.get('apiVersion')}/{obj.get('kind')}")
            pending.append((res, obj))
        names = {obj['metadata']['name'] for res, obj in pending if res.plural == 'namespaces' and not res.group}
        needed = set(DEFAULT_NAMESPACES)
        for res, obj in pending:
            if res.namespaced:
                needed.add(obj.get('metadata', {}).get('namespace') or 'default')
        ns_res = self.by_gk[('', 'Namespace')]
        for name in sorted(needed - names):
            pending.insert(0, (ns_res, {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name}}))
        for res, obj in pending:  # freshly decoded: ours to change
            meta = obj.setdefault('metadata', {})
            if res.namespaced:
                meta.setdefault('namespace', 'default')
            else:
                meta.pop('namespace', None)
            meta.pop('resourceVersion', None)
            meta.setdefault('uid', str(uuid.uuid4()))
            meta.setdefault('creationTimestamp', now_ts())
            meta.setdefault('generation', 1)
            self._defaults(res, obj)
            self._commit(res, obj, 'ADDED', None)
        self.dirty_seq += 1  # the normalised objects (uids, timestamps) are saved once serving

    def _snapshot_state(self) -> dict[str, Any]:
        objects = [obj for bucket in self.store.values() for obj in bucket.values()]
        return {'resourceVersion': str(self.rv), 'objects': objects}

    def _write_state(self, state: dict[str, Any]) -> None:
        assert self.state_path
        tmp = f"{self.state_path}.tmp{os.getpid()}"
        text = json.dumps(state, separators=(',', ':'), ensure_ascii=False)  # one-shot: the C encoder
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, self.state_path)

    async def persist(self, changed: bool = True) -> None:
        """Group commit: return once the state file holds every change made so far."""
        if not self.state_path or not self.save_state:
            return
        if changed:
            self.dirty_seq += 1
        mine = self.dirty_seq
        while self.saved_seq < mine:
            if self.saving is None:
                self.saving = asyncio.ensure_future(self._save_once())
            await asyncio.shield(self.saving)

    async def _save_once(self) -> None:
        try:
            seq = self.dirty_seq
            state = self._snapshot_state()  # stored objects are never mutated: safe in a thread
            try:
                await asyncio.to_thread(self._write_state, state)
            except OSError as e:
                print(f"emulator: cannot write the state file: {e}", file=sys.stderr, flush=True)
            self.saved_seq = seq
        finally:
            self.saving = None

    # ---------------------------------------------------------------- the store

    def _commit(self, res: Res, obj: dict[str, Any], etype: str, old: dict[str, Any] | None) -> dict[str, Any]:
        """Store (or remove, for DELETED) a new version of an object; bump the counter; log the event."""
        self.rv += 1
        obj['metadata']['resourceVersion'] = str(self.rv)
        key = (obj['metadata'].get('namespace') or '', obj['metadata']['name'])
        if etype == 'DELETED':
            self.store[res.gp].pop(key, None)
            for k in [k for k in self.applied if k[:3] == (res.gp, *key)]:
                del self.applied[k]
        else:
            self.store[res.gp][key] = obj
        self.events.append(Event(self.rv, res.gp, etype, obj, old))
        if len(self.events) > self.history:
            drop = len(self.events) - self.history // 2
            self.events_floor = self.events[drop - 1].rv
            del self.events[:drop]
        self.changed.set()
        self.changed = asyncio.Event()
        return obj

    def _defaults(self, res: Res, obj: dict[str, Any]) -> None:
        """Fields the real API server fills in on creation."""
        if res.group == '' and res.plural == 'namespaces':
            obj.setdefault('spec', {'finalizers': ['kubernetes']})
            obj['status'] = {'phase': 'Active'}
            obj['metadata'].setdefault('labels', {})['kubernetes.io/metadata.name'] = obj['metadata']['name']
        elif res.group == '' and res.plural == 'services':
            spec = obj.setdefault('spec', {})
            spec.setdefault('type', 'ClusterIP')
            spec.setdefault('sessionAffinity', 'None')
            if spec['type'] != 'ExternalName' and not spec.get('clusterIP'):
                self.cluster_ip += 1
                n = self.cluster_ip
                spec['clusterIP'] = f"10.96.{(n >> 8) & 255}.{n & 255}" if n < 65536 else f"10.{96 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"
            if spec.get('clusterIP'):
                spec.setdefault('clusterIPs', [spec['clusterIP']])
            for port in spec.get('ports') or []:
                if isinstance(port, dict):
                    port.setdefault('protocol', 'TCP')
                    port.setdefault('targetPort', port.get('port'))
            obj.setdefault('status', {'loadBalancer': {}})

    def _get(self, res: Res, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.store[res.gp].get((namespace or '', name))

    def _not_found(self, res: Res, name: str) -> kmock.KubernetesError:
        return api_error(404, f'{res.qualified} "{name}" not found',
                         details={'name': name, 'group': res.group, 'kind': res.plural})

    def _conflict(self, res: Res, name: str) -> kmock.KubernetesError:
        return api_error(409, f'Operation cannot be fulfilled on {res.qualified} "{name}": the object '
                              'has been modified; please apply your changes to the latest version and try again',
                         details={'name': name, 'group': res.group, 'kind': res.plural})

    def render(self, obj: dict[str, Any], res: Res, version: str) -> dict[str, Any]:
        gv = res.gv(version)
        return obj if obj.get('apiVersion') == gv else {**obj, 'apiVersion': gv}

    # ---------------------------------------------------------------- HTTP entry

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        body = await raw.read()
        route = parse_route(raw.path)
        recording = raw.method in ('POST', 'PUT', 'PATCH', 'DELETE') and not raw.path.startswith('/_emulator/')
        record: dict[str, Any] | None = None
        if recording:
            record = self._record(raw, body)
        try:
            response = self._inject_fault(raw)
            if response is None:
                if route is None or raw.path.startswith('/_emulator/'):
                    # Discovery, /version, probes and the private endpoints: kmock's handler.
                    if len(self._requests) > 1000:
                        del self._requests[:500]
                    if self._errors and len(self._errors[-1]) > 1000:
                        del self._errors[-1][:500]
                    response = await super().__call__(raw)
                else:
                    response = await self._serve(raw, route, body)
        except kmock.KubernetesError as e:
            response = json_response(status_body(e.status, e.reason, e.message or '', e.details), e.status)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as e:  # a bug of ours: answer like the real server would
            import traceback
            traceback.print_exc()
            response = json_response(status_body(500, 'InternalError', repr(e)), 500)
        if record is not None:
            record['status'] = response.status
        if self.log:
            print(f"{raw.method} {raw.path_qs} -> {response.status}", file=sys.stderr, flush=True)
        return response

    def _record(self, raw: aiohttp.web.BaseRequest, body: bytes) -> dict[str, Any]:
        self.record_seq += 1
        record = {
            'seq': self.record_seq, 'time': time.time(), 'method': raw.method, 'path': raw.path,
            'query': dict(raw.query), 'contentType': raw.headers.get('Content-Type', ''),
            'body': None, 'text': body.decode('utf-8', errors='replace'), 'status': None,
        }
        self.recorded.append(record)
        if len(self.recorded) > self.record_limit:
            del self.recorded[:len(self.recorded) - self.record_limit]
        return record

    def _recorded(self, request: kmock.Request) -> list[dict[str, Any]]:
        for record in self.recorded:  # bodies are parsed when asked for, not on the hot path
            if record['body'] is None and record['text'].strip():
                try:
                    record['body'] = json.loads(record['text'])
                except ValueError:
                    try:
                        record['body'] = yaml.load(record['text'], Loader=_YamlLoader)
                    except yaml.YAMLError:
                        pass
        return self.recorded

    def _inject_fault(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.Response | None:
        if not self.faults or raw.path.startswith('/_emulator/'):
            return None
        for fault in self.faults:
            if fault['method'] and fault['method'].upper() != raw.method:
                continue
            if not re.search(fault['path'], raw.path):
                continue
            fault['count'] -= 1
            fault['hits'] += 1
            if fault['count'] <= 0:
                self.faults.remove(fault)
            code = fault['status']
            response = json_response(status_body(code, None, fault['message']), code)
            if code == 429:
                response.headers['Retry-After'] = '1'
            return response
        return None

    # kmock DSL payloads for the private endpoints (they receive kmock's Request).
    def _clear_requests(self, request: kmock.Request) -> dict[str, Any]:
        count = len(self.recorded)
        self.recorded.clear()
        return {'cleared': count}

    def _add_fault(self, request: kmock.Request) -> Any:
        params = request.params
        try:
            fault = {
                'path': params.get('path', '.*'), 'method': params.get('method', ''),
                'status': int(params.get('status', '500')), 'count': int(params.get('count', '1')),
                'message': params.get('message', 'injected failure'), 'hits': 0,
            }
            re.compile(fault['path'])
        except (ValueError, re.error) as e:
            raise api_error(400, f'bad fault: {e}')
        self.faults.append(fault)
        return fault

    def _clear_faults(self, request: kmock.Request) -> dict[str, Any]:
        count = len(self.faults)
        self.faults.clear()
        return {'cleared': count}

    def _stats(self, request: kmock.Request) -> dict[str, Any]:
        return {
            'resourceVersion': str(self.rv), 'oldestResourceVersion': str(self.events_floor),
            'objects': {f"{g}/{p}" if g else p: len(b) for (g, p), b in self.store.items() if b},
            'events': len(self.events), 'watchers': self.watchers, 'recorded': len(self.recorded),
        }

    # kmock renders errors raised in its own handlers with this.
    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, kmock.KubernetesError):
            reason = exc.reason if exc.status != 404 else 'NotFound'
            message = exc.message if exc.status != 404 else 'the server could not find the requested resource'
            return json_response(status_body(exc.status, reason, message or ''), exc.status)
        return json_response(status_body(500, 'InternalError', repr(exc)), 500)

    # ---------------------------------------------------------------- discovery (kmock's hooks)

    async def _serve_server_version(self, request: kmock.Request) -> dict[str, Any]:
        return {'major': '1', 'minor': '32', 'gitVersion': 'v1.32.0+emulator', 'gitCommit': '',
                'gitTreeState': 'clean', 'buildDate': '2025-01-01T00:00:00Z',
                'goVersion': sys.version.split()[0], 'compiler': 'python', 'platform': sys.platform}

    async def _serve_api(self, request: kmock.Request) -> dict[str, Any]:
        return {'kind': 'APIVersions', 'versions': ['v1'],
                'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': self.address}]}

    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for res in RESOURCES:
            if res.group:
                versions = groups.setdefault(res.group, [])
                versions.extend(v for v in res.versions if v not in versions)
        return groups

    def _group_doc(self, group: str, versions: list[str]) -> dict[str, Any]:
        gvs = [{'groupVersion': f'{group}/{v}', 'version': v} for v in versions]
        return {'name': group, 'versions': gvs, 'preferredVersion': gvs[0]}

    async def _serve_apis(self, request: kmock.Request) -> dict[str, Any]:
        return {'kind': 'APIGroupList', 'apiVersion': 'v1',
                'groups': [self._group_doc(g, vs) for g, vs in self._groups().items()]}

    async def _serve_group(self, request: kmock.Request) -> dict[str, Any]:
        group = request.url.path.strip('/').split('/')[1]
        versions = self._groups().get(group)
        if not versions:
            raise api_error(404, 'the server could not find the requested resource')
        return {'kind': 'APIGroup', 'apiVersion': 'v1', **self._group_doc(group, versions)}

    async def _serve_version(self, request: kmock.Request) -> dict[str, Any]:
        parts = request.url.path.strip('/').split('/')
        group, version = ('', parts[1]) if parts[0] == 'api' else (parts[1], parts[2] if len(parts) > 2 else '')
        entries = []
        for (g, v, plural), res in self.by_gvp.items():
            if (g, v) != (group, version):
                continue
            info = self.resources[f"{res.gv(v)}/{plural}"]
            entry = {'name': plural, 'singularName': info.singular, 'namespaced': info.namespaced,
                     'kind': info.kind, 'verbs': sorted(info.verbs)}
            if info.shortnames:
                entry['shortNames'] = sorted(info.shortnames)
            if info.categories:
                entry['categories'] = sorted(info.categories)
            entries.append(entry)
            for sub in sorted(info.subresources):
                entries.append({'name': f'{plural}/{sub}', 'singularName': '', 'namespaced': info.namespaced,
                                'kind': info.kind, 'verbs': ['get', 'patch', 'update']})
        if not entries:
            raise api_error(404, 'the server could not find the requested resource')
        return {'kind': 'APIResourceList', 'apiVersion': 'v1',
                'groupVersion': f'{group}/{version}' if group else version, 'resources': entries}

    # ---------------------------------------------------------------- resources

    async def _serve(self, raw: aiohttp.web.BaseRequest, route: Route, body: bytes) -> aiohttp.web.StreamResponse:
        res = self.by_gvp.get((route.group, route.version, route.plural))
        if res is None:
            raise api_error(404, 'the server could not find the requested resource')
        if route.sub not in (None, 'status') or (route.sub == 'status' and not res.status):
            raise api_error(404, 'the server could not find the requested resource')
        if route.namespace is not None and not res.namespaced:
            raise api_error(404, 'the server could not find the requested resource')
        query = raw.query
        method = raw.method
        if method == 'GET':
            if query.get('watch') in ('true', '1'):
                return await self._watch(raw, res, route)
            if route.name is None:
                return self._list(raw, res, route)
            obj = self._get(res, route.namespace, route.name)
            if obj is None:
                raise self._not_found(res, route.name)
            accept = raw.headers.get('Accept', '')
            if 'as=Table' in accept:
                return json_response(self._table(raw, res, [obj]))
            if 'as=PartialObjectMetadata' in accept:
                return json_response(partial(obj))
            return json_response(self.render(obj, res, route.version))
        if res.namespaced and route.namespace is None and method != 'GET':
            raise api_error(405, 'the server does not allow this method on the requested resource')
        if method == 'POST' and route.name is None:
            return await self._create(raw, res, route, body)
        if method == 'PUT' and route.name is not None:
            return await self._update(raw, res, route, body)
        if method == 'PATCH' and route.name is not None:
            return await self._patch(raw, res, route, body)
        if method == 'DELETE':
            return await self._delete(raw, res, route, body)
        raise api_error(405, 'the server does not allow this method on the requested resource')

    @staticmethod
    def _parse_body(raw: aiohttp.web.BaseRequest, body: bytes, yaml_ok: bool = True) -> Any:
        ctype = raw.headers.get('Content-Type', 'application/json').split(';')[0].strip().lower()
        if 'protobuf' in ctype or 'cbor' in ctype:
            raise api_error(415, f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml')
        text = body.decode('utf-8', errors='replace')
        try:
            if 'yaml' in ctype and yaml_ok:
                return yaml.load(text, Loader=_YamlLoader)
            return json.loads(text)
        except (ValueError, yaml.YAMLError) as e:
            raise api_error(400, f"the body of the request could not be decoded: {e}")

    def _body_object(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route, body: bytes) -> dict[str, Any]:
        obj = self._parse_body(raw, body)
        if not isinstance(obj, dict):
            raise api_error(400, 'the body of the request must be a JSON object')
        gv = res.gv(route.version)
        if obj.get('kind') not in (None, '', res.kind):
            raise api_error(400, f"the kind of the provided object ({obj.get('kind')}) does not match the kind of the request ({res.kind})")
        if obj.get('apiVersion') not in (None, '', gv):
            raise api_error(400, f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({gv})")
        if not isinstance(obj.get('metadata', {}), dict):
            raise api_error(400, 'metadata must be an object')
        obj['apiVersion'] = gv  # a freshly decoded body: ours to change
        obj['kind'] = res.kind
        obj.setdefault('metadata', {})
        return obj

    def _check_namespace(self, res: Res, namespace: str | None, dry_run: bool) -> None:
        if not res.namespaced or self._get(self.by_gk[('', 'Namespace')], None, namespace or ''):
            return
        if not self.auto_namespaces:
            raise api_error(404, f'namespaces "{namespace}" not found',
                            details={'name': namespace, 'kind': 'namespaces'})
        if not dry_run:
            ns_res = self.by_gk[('', 'Namespace')]
            ns = {'apiVersion': 'v1', 'kind': 'Namespace',
                  'metadata': {'name': namespace, 'uid': str(uuid.uuid4()), 'creationTimestamp': now_ts()}}
            self._defaults(ns_res, ns)
            self._commit(ns_res, ns, 'ADDED', None)

    async def _create(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route, body: bytes) -> aiohttp.web.Response:
        obj = self._body_object(raw, res, route, body)
        dry_run = bool(raw.query.get('dryRun'))
        meta = obj['metadata']
        if res.namespaced:
            if meta.get('namespace') not in (None, '', route.namespace):
                raise api_error(400, 'the namespace of the provided object does not match the namespace sent on the request')
            meta['namespace'] = route.namespace
        else:
            meta.pop('namespace', None)
        if not meta.get('name') and meta.get('generateName'):
            alphabet = 'bcdfghjklmnpqrstvwxz2456789'
            meta['name'] = meta['generateName'] + ''.join(random.choice(alphabet) for _ in range(5))
        name = meta.get('name')
        if not name or not isinstance(name, str):
            raise api_error(422, f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required')
        if '/' in name or len(name) > 253:
            raise api_error(422, f'{res.kind} "{name}" is invalid: metadata.name: Invalid value: "{name}"')
        if meta.get('resourceVersion'):
            raise api_error(400, 'resourceVersion should not be set on objects to be created')
        self._check_namespace(res, route.namespace, dry_run)
        if self._get(res, route.namespace, name) is not None:
            raise api_error(409, f'{res.qualified} "{name}" already exists', reason='AlreadyExists',
                            details={'name': name, 'group': res.group, 'kind': res.plural})
        if res.status:
            obj.pop('status', None)
        for key in ('deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields'):
            meta.pop(key, None)
        meta['uid'] = str(uuid.uuid4())
        meta['creationTimestamp'] = now_ts()
        meta['generation'] = 1
        self._defaults(res, obj)
        if dry_run:
            return json_response(self.render(obj, res, route.version), 201)
        self._commit(res, obj, 'ADDED', None)
        await self.persist()
        return json_response(self.render(obj, res, route.version), 201)

    def _finish_update(self, res: Res, old: dict[str, Any], new: dict[str, Any], status_only: bool) -> tuple[dict[str, Any], bool]:
        """Apply the server-owned fields to an updated object and store it (unless it is a no-op)."""
        if not isinstance(new.get('metadata', {}), dict):
            raise api_error(400, 'metadata must be an object')
        meta = new['metadata'] = dict(new.get('metadata') or {})  # never share with the stored version
        old_meta = old['metadata']
        if status_only:
            # The status subresource changes only .status.
            updated = {**old, 'metadata': dict(old_meta)}
            if 'status' in new:
                updated['status'] = new['status']
            else:
                updated.pop('status', None)
            new = updated
        else:
            for key in ('name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp',
                        'deletionGracePeriodSeconds', 'generation'):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            if res.status:
                if 'status' in old:
                    new['status'] = old['status']
                else:
                    new.pop('status', None)
            new['apiVersion'] = old['apiVersion']
            new['kind'] = old['kind']
            if spec_part(new) != spec_part(old):
                meta['generation'] = int(old_meta.get('generation') or 0) + 1
        new['metadata']['resourceVersion'] = old_meta.get('resourceVersion')
        if new == old:
            return old, False  # a no-op: no new resourceVersion, no event
        if new['metadata'].get('deletionTimestamp') and not new['metadata'].get('finalizers'):
            gone = copy.copy(new)
            gone['metadata'] = dict(new['metadata'])
            self._commit(res, gone, 'DELETED', old)
            return gone, True
        self._commit(res, new, 'MODIFIED', old)
        return new, True

    def _check_rv(self, res: Res, old: dict[str, Any], given: Any) -> None:
        if given not in (None, '') and str(given) != old['metadata'].get('resourceVersion'):
            raise self._conflict(res, old['metadata']['name'])

    async def _update(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route, body: bytes) -> aiohttp.web.Response:
        assert route.name is not None
        obj = self._body_object(raw, res, route, body)
        meta = obj['metadata']
        if meta.get('name') not in (None, route.name):
            raise api_error(400, f"the name of the object ({meta.get('name')}) does not match the name on the URL ({route.name})")
        if res.namespaced and meta.get('namespace') not in (None, '', route.namespace):
            raise api_error(400, 'the namespace of the provided object does not match the namespace sent on the request')
        old = self._get(res, route.namespace, route.name)
        if old is None:
            raise self._not_found(res, route.name)
        self._check_rv(res, old, meta.get('resourceVersion'))
        if raw.query.get('dryRun'):
            return json_response(self.render(old, res, route.version))
        result, changed = self._finish_update(res, old, obj, route.sub == 'status')
        if changed:
            await self.persist()
        return json_response(self.render(result, res, route.version))

    async def _patch(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route, body: bytes) -> aiohttp.web.Response:
        assert route.name is not None
        ctype = raw.headers.get('Content-Type', '').split(';')[0].strip().lower()
        kinds = ('application/merge-patch+json', 'application/strategic-merge-patch+json',
                 'application/apply-patch+yaml', 'application/json-patch+json')
        if ctype not in kinds:
            raise api_error(415, f'the body of the request was in an unknown format - accepted media types include: {", ".join(kinds)}')
        patch = self._parse_body(raw, body, yaml_ok=True)
        old = self._get(res, route.namespace, route.name)
        gv = res.gv(route.version)

        if ctype == 'application/apply-patch+yaml':
            manager = raw.query.get('fieldManager')
            if not manager:
                raise api_error(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')
            if not isinstance(patch, dict):
                raise api_error(400, 'the body of an apply patch must be an object')
            if not patch.get('apiVersion') or not patch.get('kind'):
                raise api_error(400, "invalid object: 'apiVersion' and 'kind' must be set in an apply patch")
            if patch.get('kind') != res.kind or patch.get('apiVersion') != gv:
                raise api_error(400, f"the apply patch is for {patch.get('apiVersion')}/{patch.get('kind')}, not {gv}/{res.kind}")
            pmeta = patch.get('metadata') or {}
            if pmeta.get('name') not in (None, route.name):
                raise api_error(400, f"the name of the object ({pmeta.get('name')}) does not match the name on the URL ({route.name})")
            if old is None:
                if route.sub == 'status':
                    raise self._not_found(res, route.name)
                # Apply creates the object when it does not exist.
                fresh = copy.deepcopy(patch)
                fresh.setdefault('metadata', {})['name'] = route.name
                response = await self._create(raw, res, route, dumps(fresh))
                if not raw.query.get('dryRun'):
                    self.applied[(res.gp, route.namespace or '', route.name, None)] = {manager: patch}
                return response
            self._check_rv(res, old, pmeta.get('resourceVersion'))
            # Server-side apply, approximately: fields this manager applied before and no longer
            # applies are removed, then the applied configuration is merged in (lists atomically).
            akey = (res.gp, route.namespace or '', route.name, route.sub)
            base = copy.deepcopy(old)
            previous = self.applied.get(akey, {}).get(manager)
            if previous is not None:
                applied_now = leaf_paths(patch)
                for path in leaf_paths(previous) - applied_now:
                    if path[0] not in ('apiVersion', 'kind') and path[:2] != ('metadata', 'name'):
                        remove_path(base, path)
            new = merge_patch(base, patch)
            if not raw.query.get('dryRun'):
                self.applied.setdefault(akey, {})[manager] = patch
        elif old is None:
            raise self._not_found(res, route.name)
        elif ctype == 'application/json-patch+json':
            if not isinstance(patch, list):
                raise api_error(400, 'a JSON patch must be a list of operations')
            try:
                new = jsonpatch.apply_patch(copy.deepcopy(old), patch)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
                raise api_error(422, f'the server rejected our request due to an error in our request: {e}')
            if not isinstance(new, dict):
                raise api_error(422, 'the patched object is not an object')
            self._check_rv(res, old, (new.get('metadata') or {}).get('resourceVersion')
                           if (new.get('metadata') or {}).get('resourceVersion') != old['metadata'].get('resourceVersion') else None)
        else:
            if not isinstance(patch, dict):
                raise api_error(400, 'a merge patch must be an object')
            if ctype == 'application/strategic-merge-patch+json':
                patch = strip_directives(patch)
            self._check_rv(res, old, (patch.get('metadata') or {}).get('resourceVersion')
                           if isinstance(patch.get('metadata'), dict) else None)
            new = merge_patch(old, patch)

        if not isinstance(new.get('metadata', {}), dict):
            raise api_error(400, 'metadata must be an object')
        if raw.query.get('dryRun'):
            return json_response(self.render(new, res, route.version))
        result, changed = self._finish_update(res, old, new, route.sub == 'status')
        if changed:
            await self.persist()
        return json_response(self.render(result, res, route.version))

    async def _delete(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route, body: bytes) -> aiohttp.web.Response:
        options: Any = {}
        if body.strip():
            options = self._parse_body(raw, body)
            if not isinstance(options, dict):
                raise api_error(400, 'DeleteOptions must be an object')
        dry_run = bool(raw.query.get('dryRun')) or bool(options.get('dryRun'))
        if route.name is None:  # deletecollection
            victims = self._select(raw, res, route)
            deleted = []
            for obj in victims:
                result = self._delete_one(res, obj, dry_run)
                deleted.append(self.render(result, res, route.version))
            if deleted and not dry_run:
                await self.persist()
            return json_response({'kind': f'{res.kind}List', 'apiVersion': res.gv(route.version),
                                  'metadata': {'resourceVersion': str(self.rv)}, 'items': deleted})
        old = self._get(res, route.namespace, route.name)
        if old is None:
            raise self._not_found(res, route.name)
        pre = options.get('preconditions') or {}
        if pre.get('uid') and pre['uid'] != old['metadata'].get('uid'):
            raise api_error(409, f'Precondition failed: UID in precondition: {pre["uid"]}, UID in object meta: {old["metadata"].get("uid")}')
        self._check_rv(res, old, pre.get('resourceVersion'))
        result = self._delete_one(res, old, dry_run)
        if not dry_run:
            await self.persist()
        return json_response(self.render(result, res, route.version))

    def _delete_one(self, res: Res, old: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        meta = old['metadata']
        if res.group == '' and res.plural == 'namespaces' and not dry_run:
            # The namespace controller's work, done at once: the namespace's objects go first.
            for other in RESOURCES:
                if other.namespaced:
                    for key in [k for k in self.store[other.gp] if k[0] == meta['name']]:
                        obj = self.store[other.gp].get(key)
                        if obj is not None:
                            self._delete_one(other, obj, dry_run)
        if meta.get('finalizers'):
            if meta.get('deletionTimestamp'):
                return old
            new = {**old, 'metadata': {**meta, 'deletionTimestamp': now_ts(), 'deletionGracePeriodSeconds': 0,
                                       'generation': int(meta.get('generation') or 0) + 1}}
            return new if dry_run else self._commit(res, new, 'MODIFIED', old)
        gone = {**old, 'metadata': dict(meta)}
        return gone if dry_run else self._commit(res, gone, 'DELETED', old)

    # ---------------------------------------------------------------- list & watch

    def _selectors(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route) -> tuple[list[Any], list[Any]]:
        labels = parse_label_selector(raw.query.get('labelSelector'))
        fields = parse_field_selector(raw.query.get('fieldSelector'), res)
        if route.name is not None:
            fields.append(('metadata.name', '=', route.name))
        return labels, fields

    def _select(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route) -> list[dict[str, Any]]:
        labels, fields = self._selectors(raw, res, route)
        bucket = self.store[res.gp]
        ns = route.namespace
        keys = sorted(k for k in bucket if ns is None or k[0] == ns)
        objs = [bucket[k] for k in keys]
        if labels or fields:
            objs = [o for o in objs if labels_match(labels, o) and fields_match(fields, o)]
        return objs

    def _list(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route) -> aiohttp.web.Response:
        query = raw.query
        gv = res.gv(route.version)
        token = query.get('continue')
        now = time.monotonic()
        for key in [k for k, (t, _, _) in self.snapshots.items() if now - t > 300]:
            del self.snapshots[key]
        if token:
            try:
                cont = json.loads(base64.urlsafe_b64decode(token.encode()))
                snap_id, offset = cont['id'], int(cont['offset'])
            except (ValueError, KeyError, TypeError):
                raise api_error(400, 'the continue token is invalid')
            if snap_id not in self.snapshots:
                raise api_error(410, 'The provided continue parameter is too old to display a consistent list '
                                     'result. You can start a new list without the continue parameter.', reason='Expired')
            _, list_rv, objs = self.snapshots[snap_id]
        else:
            rv_param, match = query.get('resourceVersion'), query.get('resourceVersionMatch')
            if match == 'Exact' and rv_param and rv_param != str(self.rv):
                raise api_error(410, f'too old resource version: {rv_param} ({self.rv})', reason='Expired')
            objs, list_rv, offset, snap_id = self._select(raw, res, route), self.rv, 0, None
        try:
            limit = int(query.get('limit') or 0)
        except ValueError:
            raise api_error(400, 'limit must be an integer')
        meta: dict[str, Any] = {'resourceVersion': str(list_rv)}
        page = objs[offset:]
        if limit > 0 and len(page) > limit:
            page = page[:limit]
            if snap_id is None:
                snap_id = uuid.uuid4().hex
                self.snapshots[snap_id] = (now, list_rv, objs)
            cont = {'id': snap_id, 'offset': offset + limit}
            meta['continue'] = base64.urlsafe_b64encode(dumps(cont)).decode()
            meta['remainingItemCount'] = len(objs) - offset - limit
        elif snap_id is not None:
            self.snapshots.pop(snap_id, None)
        if 'as=Table' in raw.headers.get('Accept', ''):
            table = self._table(raw, res, page)
            table['metadata'] = meta
            return json_response(table)
        if 'as=PartialObjectMetadata' in raw.headers.get('Accept', ''):
            return json_response({'kind': 'PartialObjectMetadataList', 'apiVersion': 'meta.k8s.io/v1',
                                  'metadata': meta, 'items': [partial(o) for o in page]})
        items = [self.render(o, res, route.version) for o in page]
        return json_response({'kind': f'{res.kind}List', 'apiVersion': gv, 'metadata': meta, 'items': items})

    def _table(self, raw: aiohttp.web.BaseRequest, res: Res, objs: list[dict[str, Any]]) -> dict[str, Any]:
        include = raw.query.get('includeObject', 'Metadata')
        now = time.time()
        rows = []
        for obj in objs:
            row: dict[str, Any] = {'cells': [obj['metadata']['name'],
                                             human_age(now - parse_ts(obj['metadata'].get('creationTimestamp', '')))]}
            if include == 'Object':
                row['object'] = obj
            elif include != 'None':
                row['object'] = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1',
                                 'metadata': obj['metadata']}
            rows.append(row)
        return {
            'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': {'resourceVersion': str(self.rv)},
            'columnDefinitions': [
                {'name': 'Name', 'type': 'string', 'format': 'name', 'description': 'Name of the object', 'priority': 0},
                {'name': 'Age', 'type': 'string', 'format': '', 'description': 'Time since creation', 'priority': 0},
            ],
            'rows': rows,
        }

    async def _watch(self, raw: aiohttp.web.BaseRequest, res: Res, route: Route) -> aiohttp.web.StreamResponse:
        query = raw.query
        labels, fields = self._selectors(raw, res, route)
        rv_param = query.get('resourceVersion') or ''
        bookmarks = query.get('allowWatchBookmarks') in ('true', '1')
        initial = query.get('sendInitialEvents') in ('true', '1')
        try:
            timeout = float(query['timeoutSeconds']) if query.get('timeoutSeconds') else None
            start = int(rv_param) if rv_param not in ('', '0') and not initial else None
        except ValueError:
            raise api_error(400, f'invalid watch parameters: resourceVersion={rv_param!r}')
        ns = route.namespace
        gv = res.gv(route.version)

        response = aiohttp.web.StreamResponse(status=200, headers={'Cache-Control': 'no-cache, private'})
        response.content_type = 'application/json'
        response.enable_chunked_encoding()
        await response.prepare(raw)

        def visible(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            if ns is not None and obj['metadata'].get('namespace') != ns:
                return False
            return labels_match(labels, obj) and fields_match(fields, obj)

        metadata_only = 'as=PartialObjectMetadata' in raw.headers.get('Accept', '')

        def line(etype: str, obj: dict[str, Any]) -> bytes:
            shown = partial(obj) if metadata_only else self.render(obj, res, route.version)
            return dumps({'type': etype, 'object': shown}) + b'\n'

        def bookmark(rv: int, annotations: dict[str, str] | None = None) -> bytes:
            meta: dict[str, Any] = {'resourceVersion': str(rv)}
            if annotations:
                meta['annotations'] = annotations
            return dumps({'type': 'BOOKMARK', 'object': {'kind': res.kind, 'apiVersion': gv, 'metadata': meta}}) + b'\n'

        def expired(rv: int | str) -> bytes:
            status = status_body(410, 'Expired', f'too old resource version: {rv} ({self.events_floor})')
            return dumps({'type': 'ERROR', 'object': status}) + b'\n'

        self.watchers += 1
        try:
            if start is None:
                cursor = self.rv
                chunk = [line('ADDED', o) for o in self._select(raw, res, route)]
                if initial:
                    chunk.append(bookmark(cursor, {'k8s.io/initial-events-end': 'true'}))
                if chunk:
                    await response.write(b''.join(chunk))
            elif start < self.events_floor or start > self.rv:
                # Compacted, or issued by an earlier process: the client must relist.
                await response.write(expired(start))
                await response.write_eof()
                return response
            else:
                cursor = start

            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout is not None else None
            next_bookmark = loop.time() + self.bookmark_interval
            while not self.stopping.is_set():
                changed = self.changed
                if cursor < self.rv:
                    if cursor < self.events_floor:
                        await response.write(expired(cursor))
                        break
                    chunk = []
                    first = cursor - self.events_floor  # index of the event with rv == cursor + 1
                    for event in self.events[first:]:
                        if event.gp != res.gp:
                            continue
                        new_ok = event.type != 'DELETED' and visible(event.obj)
                        old_ok = visible(event.old)
                        if event.type == 'DELETED':
                            if old_ok:
                                chunk.append(line('DELETED', event.obj))
                        elif new_ok and old_ok:
                            chunk.append(line('MODIFIED', event.obj))
                        elif new_ok:
                            chunk.append(line('ADDED', event.obj))
                        elif old_ok:
                            chunk.append(line('DELETED', event.obj))
                    cursor = self.rv
                    if chunk:
                        await response.write(b''.join(chunk))
                now = loop.time()
                if deadline is not None and now >= deadline:
                    break
                if bookmarks and now >= next_bookmark:
                    await response.write(bookmark(cursor))
                    next_bookmark = now + self.bookmark_interval
                wake = [next_bookmark if bookmarks else now + 3600]
                if deadline is not None:
                    wake.append(deadline)
                try:
                    await asyncio.wait_for(self._wait_any(changed), max(0.0, min(wake) - now))
                except asyncio.TimeoutError:
                    pass
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away
        finally:
            self.watchers -= 1
        return response

    async def _wait_any(self, changed: asyncio.Event) -> None:
        stop = asyncio.ensure_future(self.stopping.wait())
        change = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait([stop, change], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            change.cancel()


# --------------------------------------------------------------------------
# The launcher.

def write_kubeconfig(path: str, url: str) -> None:
    config = {
        'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
        'clusters': [{'name': 'emulator', 'cluster': {'server': url}}],
        'users': [{'name': 'emulator', 'user': {}}],
        'contexts': [{'name': 'emulator', 'context': {'cluster': 'emulator', 'user': 'emulator', 'namespace': 'default'}}],
        'current-context': 'emulator',
    }
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, 'w', encoding='utf-8') as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(tmp, path)


async def amain(args: argparse.Namespace) -> None:
    emulator = Emulator(state_path=args.state or args.load, bookmark_interval=args.bookmark_interval,
                        history=args.history, auto_namespaces=args.auto_namespaces, log=args.log,
                        save_state=not args.load)
    emulator.load_state()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with emulator, kmock.Server(emulator, host=args.host, port=args.port) as server:
        host = '127.0.0.1' if args.host in ('0.0.0.0', '') else args.host
        host = f'[{host}]' if ':' in host else host
        url = f"http://{host}:{server.port}"
        emulator.address = f"{host}:{server.port}"
        if args.kubeconfig:
            write_kubeconfig(args.kubeconfig, url)
        print(f"listening on {url}", flush=True)
        saving = asyncio.ensure_future(emulator.persist(changed=False))
        await stop.wait()
        await saving
        emulator.stopping.set()
        for _ in range(100):  # let the watch streams end cleanly
            if not emulator.watchers:
                break
            await asyncio.sleep(0.01)
        await emulator.persist(changed=False)  # a no-op unless something is not saved yet


def main() -> None:
    parser = argparse.ArgumentParser(description='A Kubernetes API emulator for end-to-end tests.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0 picks a free port')
    parser.add_argument('--state', help='load objects from this JSON file and write them back on every change')
    parser.add_argument('--load', help='load objects from this JSON file at start, never write it (benchmarks: '
                        'writes are answered at once)')
    parser.add_argument('--kubeconfig', help='write a kubeconfig (context "emulator") pointing at the emulator')
    parser.add_argument('--bookmark-interval', type=float, default=1.0,
                        help='seconds between BOOKMARK events on watches that allow them')
    parser.add_argument('--history', type=int, default=200_000,
                        help='watch events kept; a watch from an older resourceVersion gets 410 Expired')
    parser.add_argument('--auto-namespaces', action='store_true',
                        help='create missing namespaces instead of answering 404')
    parser.add_argument('--log', action='store_true', help='log every request to stderr')
    args = parser.parse_args()
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
