#!/usr/bin/env python3
"""Checks of the Kubernetes API emulator (tests/k8s/emulator.py), with the standard library only.

    python3 tests/k8s/selftest.py

It starts the emulator with the project's venv Python (`.venv/bin/python`, or
$EMULATOR_PYTHON), exercises it over HTTP, restarts it on the same state file,
and exits non-zero on the first failed check.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(HERE, 'emulator.py')
MAPPINGS = '/apis/getambassador.io/v3alpha1/namespaces/default/mappings'
ALL_MAPPINGS = '/apis/getambassador.io/v3alpha1/mappings'


def python() -> str:
    if os.environ.get('EMULATOR_PYTHON'):
        return os.environ['EMULATOR_PYTHON']
    venv = os.path.join(ROOT, '.venv', 'bin', 'python')
    return venv if os.path.exists(venv) else sys.executable


class Emulator:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([python(), EMULATOR, '--port', '0', *args],
                                     stdout=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=15)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError('the emulator did not report that it listens')
        assert line.startswith('listening on http://127.0.0.1:'), line
        self.url = line.split()[-1]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def call(url: str, method: str = 'GET', path: str = '/', body: Any = None,
         ctype: str = 'application/json', query: dict[str, str] | None = None) -> tuple[int, Any]:
    full = url + path + ('?' + urllib.parse.urlencode(query) if query else '')
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(full, data=data, method=method, headers={'Content-Type': ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            code, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        code, raw = e.code, e.read()
    try:
        return code, json.loads(raw)
    except ValueError:
        return code, raw.decode()


def watch(url: str, path: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """Read a watch stream to its end (give it a timeoutSeconds)."""
    full = url + path + '?' + urllib.parse.urlencode({'watch': 'true', **query})
    with urllib.request.urlopen(full, timeout=15) as resp:
        assert resp.status == 200, resp.status
        return [json.loads(line) for line in resp if line.strip()]


def watch_in_background(url: str, path: str, query: dict[str, str]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.extend(watch(url, path, query)), daemon=True)
    thread.start()
    return thread, out


def mapping(name: str, labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {'apiVersion': 'getambassador.io/v3alpha1', 'kind': 'Mapping',
            'metadata': {'name': name, **({'labels': labels} if labels else {}), **meta},
            'spec': {'prefix': f'/{name}/', 'service': f'{name}.default:80'}}


def names(doc: dict[str, Any]) -> list[str]:
    return [item['metadata']['name'] for item in doc['items']]


def main() -> None:
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='k8s-emulator-')
    state = os.path.join(tmp, 'state.json')
    kubeconfig = os.path.join(tmp, 'kubeconfig')
    emu = Emulator('--state', state, '--kubeconfig', kubeconfig, '--bookmark-interval', '0.2')
    print(f'started in {time.monotonic() - started:.2f}s at {emu.url}')
    url = emu.url
    try:
        # The kubeconfig points at it.
        with open(kubeconfig) as f:
            text = f.read()
        assert f'server: {url}' in text and 'current-context: emulator' in text, text

        # Discovery.
        code, apis = call(url, path='/apis')
        assert code == 200 and apis['kind'] == 'APIGroupList', apis
        amb = [g for g in apis['groups'] if g['name'] == 'getambassador.io'][0]
        assert amb['preferredVersion']['version'] == 'v3alpha1', amb
        assert {v['version'] for v in amb['versions']} == {'v3alpha1', 'v2'}, amb
        code, rl = call(url, path='/apis/getambassador.io/v2')
        got = {r['name']: r for r in rl['resources']}
        assert got['tlscontexts']['kind'] == 'TLSContext' and got['tlscontexts']['namespaced'], got
        assert 'mappings/status' in got and 'watch' in got['mappings']['verbs'], got
        code, core = call(url, path='/api/v1')
        got = {r['name']: r for r in core['resources']}
        assert got['namespaces']['namespaced'] is False and got['services']['namespaced'], got
        code, _ = call(url, path='/apis/coordination.k8s.io/v1')
        assert code == 200

        # Create, and create again.
        code, m1 = call(url, 'POST', MAPPINGS, mapping('m1'))
        assert code == 201, (code, m1)
        meta = m1['metadata']
        assert meta['uid'] and meta['creationTimestamp'] and meta['generation'] == 1, meta
        assert meta['namespace'] == 'default' and int(meta['resourceVersion']) > 0, meta
        code, err = call(url, 'POST', MAPPINGS, mapping('m1'))
        assert code == 409 and err['reason'] == 'AlreadyExists', err

        # List: kind, apiVersion, the current resourceVersion; the same object at v2.
        code, lst = call(url, path=ALL_MAPPINGS)
        assert lst['kind'] == 'MappingList' and lst['apiVersion'] == 'getambassador.io/v3alpha1', lst
        rv0 = lst['metadata']['resourceVersion']
        assert rv0 == meta['resourceVersion'] and names(lst) == ['m1'], lst
        code, lst2 = call(url, path='/apis/getambassador.io/v2/mappings')
        assert lst2['items'][0]['apiVersion'] == 'getambassador.io/v2', lst2

        # A watch from that resourceVersion sees only later events, and bookmarks.
        thread, events = watch_in_background(url, ALL_MAPPINGS, {
            'resourceVersion': rv0, 'allowWatchBookmarks': 'true', 'timeoutSeconds': '2'})
        time.sleep(0.3)
        code, m2 = call(url, 'POST', MAPPINGS, mapping('m2'))
        assert code == 201
        code, st = call(url, 'PATCH', MAPPINGS + '/m1/status', {'status': {'state': 'Running'}, 'spec': {'prefix': '/x/'}},
                        ctype='application/merge-patch+json')
        assert code == 200 and st['status'] == {'state': 'Running'} and st['spec']['prefix'] == '/m1/', st
        assert st['metadata']['generation'] == 1 and int(st['metadata']['resourceVersion']) > int(rv0), st
        code, sp = call(url, 'PATCH', MAPPINGS + '/m1', {'spec': {'prefix': '/m1b/'}, 'status': {'state': 'Lost'}},
                        ctype='application/merge-patch+json')
        assert code == 200 and sp['metadata']['generation'] == 2 and sp['status'] == {'state': 'Running'}, sp
        thread.join(10)
        assert not thread.is_alive(), 'timeoutSeconds did not end the watch'
        kinds = [(e['type'], e['object']['metadata'].get('name')) for e in events]
        changes = [k for k in kinds if k[0] != 'BOOKMARK']
        assert changes == [('ADDED', 'm2'), ('MODIFIED', 'm1'), ('MODIFIED', 'm1')], kinds
        marks = [e for e in events if e['type'] == 'BOOKMARK']
        assert marks and marks[-1]['object']['metadata']['resourceVersion'] == sp['metadata']['resourceVersion'], marks
        assert marks[-1]['object']['kind'] == 'Mapping', marks

        # A watch without a resourceVersion replays the current objects as ADDED.
        events = watch(url, ALL_MAPPINGS, {'timeoutSeconds': '1'})
        assert sorted((e['type'], e['object']['metadata']['name']) for e in events) == [('ADDED', 'm1'), ('ADDED', 'm2')], events

        # A no-op patch issues no new resourceVersion.
        code, same = call(url, 'PATCH', MAPPINGS + '/m1', {'spec': {'prefix': '/m1b/'}},
                          ctype='application/merge-patch+json')
        assert same['metadata']['resourceVersion'] == sp['metadata']['resourceVersion'], same

        # Selectors.
        assert call(url, 'POST', MAPPINGS, mapping('m3', {'tier': 'edge', 'app': 'a'}))[0] == 201
        assert call(url, 'POST', MAPPINGS, mapping('m4', {'tier': 'core'}))[0] == 201
        for selector, expected in [('tier=edge', ['m3']), ('tier!=edge', ['m1', 'm2', 'm4']), ('tier', ['m3', 'm4']),
                                   ('!tier', ['m1', 'm2']), ('tier in (edge,core),app', ['m3']),
                                   ('tier notin (edge)', ['m1', 'm2', 'm4'])]:
            code, lst = call(url, path=ALL_MAPPINGS, query={'labelSelector': selector})
            assert code == 200 and names(lst) == expected, (selector, names(lst))
        code, lst = call(url, path=ALL_MAPPINGS, query={'fieldSelector': 'metadata.name=m2'})
        assert names(lst) == ['m2'], lst
        code, lst = call(url, path=ALL_MAPPINGS, query={'fieldSelector': 'metadata.namespace=other'})
        assert names(lst) == [], lst
        code, err = call(url, path=ALL_MAPPINGS, query={'fieldSelector': 'spec.prefix=/m1/'})
        assert code == 400 and err['kind'] == 'Status', err
        for name, kind in [('s1', 'Opaque'), ('s2', 'kubernetes.io/tls')]:
            code, _ = call(url, 'POST', '/api/v1/namespaces/default/secrets',
                           {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name}, 'type': kind})
            assert code == 201
        code, lst = call(url, path='/api/v1/secrets', query={'fieldSelector': 'type=kubernetes.io/tls'})
        assert lst['kind'] == 'SecretList' and names(lst) == ['s2'], lst
        code, lst = call(url, path='/api/v1/secrets', query={'fieldSelector': 'type!=kubernetes.io/tls'})
        assert names(lst) == ['s1'], lst
        # A watch with a label selector: a relabelled object leaves as DELETED.
        rv1 = call(url, path=ALL_MAPPINGS)[1]['metadata']['resourceVersion']
        thread, events = watch_in_background(url, ALL_MAPPINGS, {
            'resourceVersion': rv1, 'labelSelector': 'tier=edge', 'timeoutSeconds': '1'})
        time.sleep(0.2)
        call(url, 'PATCH', MAPPINGS + '/m4', {'metadata': {'labels': {'tier': 'edge'}}}, ctype='application/merge-patch+json')
        call(url, 'PATCH', MAPPINGS + '/m3', {'metadata': {'labels': {'tier': 'core'}}}, ctype='application/merge-patch+json')
        call(url, 'PATCH', MAPPINGS + '/m1', {'metadata': {'labels': {'x': 'y'}}}, ctype='application/merge-patch+json')
        thread.join(10)
        assert [(e['type'], e['object']['metadata']['name']) for e in events] == [('ADDED', 'm4'), ('DELETED', 'm3')], events

        # Pagination.
        code, page1 = call(url, path=ALL_MAPPINGS, query={'limit': '3'})
        assert names(page1) == ['m1', 'm2', 'm3'] and page1['metadata']['remainingItemCount'] == 1, page1
        call(url, 'POST', MAPPINGS, mapping('m0'))  # the continuation still shows the first snapshot
        code, page2 = call(url, path=ALL_MAPPINGS, query={'limit': '3', 'continue': page1['metadata']['continue']})
        assert names(page2) == ['m4'] and 'continue' not in page2['metadata'], page2
        assert page2['metadata']['resourceVersion'] == page1['metadata']['resourceVersion'], page2

        # PUT: 409 on a stale resourceVersion.
        code, cur = call(url, path=MAPPINGS + '/m2')
        stale = json.loads(json.dumps(cur))
        cur['spec']['prefix'] = '/m2b/'
        code, put = call(url, 'PUT', MAPPINGS + '/m2', cur)
        assert code == 200 and put['metadata']['generation'] == 2, put
        code, err = call(url, 'PUT', MAPPINGS + '/m2', stale)
        assert code == 409 and err['reason'] == 'Conflict', err

        # Server-side apply of the status: fieldManager required; dropped fields are removed.
        apply = 'application/apply-patch+yaml'
        doc = 'apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  name: m2\nstatus:\n  state: {s}\n{extra}'
        code, err = call(url, 'PATCH', MAPPINGS + '/m2/status', doc.format(s='A', extra=''), ctype=apply)
        assert code == 422, (code, err)
        q = {'fieldManager': 'emissary', 'force': 'true'}
        code, a1 = call(url, 'PATCH', MAPPINGS + '/m2/status', doc.format(s='A', extra='  reason: r\n'), ctype=apply, query=q)
        assert code == 200 and a1['status'] == {'state': 'A', 'reason': 'r'}, a1
        code, a2 = call(url, 'PATCH', MAPPINGS + '/m2/status', doc.format(s='B', extra=''), ctype=apply, query=q)
        assert code == 200 and a2['status'] == {'state': 'B'} and a2['metadata']['generation'] == 2, a2
        # Apply creates what does not exist (a Lease here), then PUT with its resourceVersion.
        lease = {'apiVersion': 'coordination.k8s.io/v1', 'kind': 'Lease', 'metadata': {'name': 'emissary'},
                 'spec': {'holderIdentity': 'a', 'leaseDurationSeconds': 15}}
        lpath = '/apis/coordination.k8s.io/v1/namespaces/default/leases/emissary'
        code, l1 = call(url, 'PATCH', lpath, json.dumps(lease), ctype=apply, query=q)
        assert code == 201 and l1['spec']['holderIdentity'] == 'a', (code, l1)
        l1['spec']['holderIdentity'] = 'b'
        code, l2 = call(url, 'PUT', lpath, l1)
        assert code == 200 and l2['spec']['holderIdentity'] == 'b', l2
        code, err = call(url, 'PUT', lpath, l1)
        assert code == 409, err
        # JSON patch.
        code, jp = call(url, 'PATCH', lpath, [{'op': 'replace', 'path': '/spec/holderIdentity', 'value': 'c'}],
                        ctype='application/json-patch+json')
        assert code == 200 and jp['spec']['holderIdentity'] == 'c', jp

        # Finalizers hold a deletion until they are removed.
        call(url, 'POST', MAPPINGS, mapping('m5', finalizers=['example.com/hold']))
        code, dm = call(url, 'DELETE', MAPPINGS + '/m5')
        assert code == 200 and dm['metadata'].get('deletionTimestamp'), dm
        assert call(url, path=MAPPINGS + '/m5')[0] == 200
        call(url, 'PATCH', MAPPINGS + '/m5', {'metadata': {'finalizers': None}}, ctype='application/merge-patch+json')
        assert call(url, path=MAPPINGS + '/m5')[0] == 404

        # Errors: unknown resource, malformed body, a missing namespace.
        code, err = call(url, path='/apis/getambassador.io/v3alpha1/namespaces/default/widgets')
        assert code == 404 and err['kind'] == 'Status' and err['code'] == 404, err
        code, err = call(url, 'POST', MAPPINGS, '{"apiVersion": ')
        assert code == 400 and err['reason'] == 'BadRequest', err
        code, err = call(url, 'POST', '/apis/getambassador.io/v3alpha1/namespaces/nope/mappings', mapping('m9'))
        assert code == 404 and 'namespaces "nope" not found' in err['message'], err

        # Metadata-only lists, as kube-rs metadata watchers ask for them.
        req = urllib.request.Request(url + ALL_MAPPINGS, headers={
            'Accept': 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'})
        with urllib.request.urlopen(req, timeout=10) as resp:
            doc = json.loads(resp.read())
        assert doc['kind'] == 'PartialObjectMetadataList' and 'spec' not in doc['items'][0], doc
        assert [i['metadata']['name'] for i in doc['items']] == ['m0', 'm1', 'm2', 'm3', 'm4'], doc

        # Deleting a namespace deletes what is in it.
        ns = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'scratch'}}
        assert call(url, 'POST', '/api/v1/namespaces', ns)[0] == 201
        svc = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'web'},
               'spec': {'ports': [{'name': 'http', 'port': 80}]}}
        code, made = call(url, 'POST', '/api/v1/namespaces/scratch/services', svc)
        assert code == 201 and made['spec']['clusterIP'] and made['spec']['type'] == 'ClusterIP', made
        assert call(url, 'DELETE', '/api/v1/namespaces/scratch')[0] == 200
        assert call(url, path='/api/v1/namespaces/scratch/services/web')[0] == 404

        # Fault injection.
        code, _ = call(url, 'POST', '/_emulator/fail', query={'path': '/mappings$', 'status': '503', 'count': '1'})
        assert code == 200
        assert call(url, path=ALL_MAPPINGS)[0] == 503
        assert call(url, path=ALL_MAPPINGS)[0] == 200

        # The record of write requests.
        code, recorded = call(url, path='/_emulator/requests')
        status_patches = [r for r in recorded if r['path'] == MAPPINGS + '/m2/status' and r['status'] == 200]
        assert status_patches and status_patches[-1]['method'] == 'PATCH', recorded
        last = status_patches[-1]
        assert last['contentType'] == apply and last['query'] == q and last['body']['status'] == {'state': 'B'}, last
        assert all(r['method'] != 'GET' for r in recorded)
        assert call(url, 'DELETE', '/_emulator/requests')[0] == 200
        assert call(url, path='/_emulator/requests')[1] == []

        # Restart on the same state file: the same objects, a fresh resourceVersion history.
        code, before = call(url, path=ALL_MAPPINGS)
        old_rv = before['metadata']['resourceVersion']
        assert emu.stop() == 0, 'the emulator did not exit cleanly on SIGTERM'
        emu = Emulator('--state', state, '--bookmark-interval', '0.2')
        url = emu.url
        code, after = call(url, path=ALL_MAPPINGS)
        assert names(after) == names(before), (names(before), names(after))
        assert [i['spec'] for i in after['items']] == [i['spec'] for i in before['items']]
        assert [i['metadata']['uid'] for i in after['items']] == [i['metadata']['uid'] for i in before['items']]
        assert int(after['metadata']['resourceVersion']) > int(old_rv), after['metadata']
        events = watch(url, ALL_MAPPINGS, {'resourceVersion': old_rv, 'allowWatchBookmarks': 'true', 'timeoutSeconds': '2'})
        assert len(events) == 1 and events[0]['type'] == 'ERROR', events
        assert events[0]['object']['code'] == 410 and events[0]['object']['reason'] == 'Expired', events
        # A watch from the new list's resourceVersion works.
        thread, events = watch_in_background(url, ALL_MAPPINGS, {
            'resourceVersion': after['metadata']['resourceVersion'], 'timeoutSeconds': '1'})
        time.sleep(0.2)
        assert call(url, 'DELETE', MAPPINGS + '/m0')[0] == 200
        thread.join(10)
        assert [(e['type'], e['object']['metadata']['name']) for e in events] == [('DELETED', 'm0')], events
    finally:
        rc = emu.stop()
    assert rc == 0, rc
    print(f'selftest passed in {time.monotonic() - started:.1f}s')


if __name__ == '__main__':
    try:
        main()
    except AssertionError as e:
        print(f'selftest FAILED: {e}', file=sys.stderr)
        raise
