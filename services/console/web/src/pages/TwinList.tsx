import { call } from '../client';
import { ErrorNotice } from '../components/ErrorNotice';
import { useLoad } from '../hooks';

export function TwinList() {
  const twins = useLoad((signal) => call('spec', 'get', '/twins', { query: { limit: 200, offset: 0 }, signal }), []);
  return (
    <section aria-labelledby="twins-title">
      <h1 id="twins-title">Twins</h1>
      <p>
        <a href="#/new">Create a twin from an AML file</a>
      </p>
      <ErrorNotice error={twins.error} action="list twins" />
      {twins.loading ? <p role="status">Loading twins…</p> : null}
      {twins.data ? (
        twins.data.twins.length === 0 ? (
          <p>No twins you may read yet.</p>
        ) : (
          <table>
            <caption>{twins.data.total} twins you may read</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Twin ID</th>
                <th scope="col">Created in block</th>
              </tr>
            </thead>
            <tbody>
              {twins.data.twins.map((t) => (
                <tr key={t.twinId}>
                  <td>
                    <a href={`#/twins/${encodeURIComponent(t.twinId)}`}>{t.deviceName}</a>
                  </td>
                  <td>
                    <code>{t.twinId}</code>
                  </td>
                  <td>{t.createdInBlock}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </section>
  );
}
