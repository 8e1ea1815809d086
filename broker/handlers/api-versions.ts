/**
 * ApiVersions: records who the client is on its connection (clientId, for logs and for the
 * group coordinator's DescribeGroups) and lists the API versions this broker serves, computed
 * from the protocol registry and the handler table (an API without a handler is not listed).
 */
import { allApis, type ApiName } from '../../protocol/apis/index.js';
import type { Handler } from '../context.js';

export function apiVersionsHandler(served: () => ReadonlySet<ApiName>): Handler<'ApiVersions'> {
  return (ctx, req, conn) => {
    if (conn.clientId !== req.clientId) {
      conn.clientId = req.clientId;
      ctx.logger.debug({ conn: conn.id, clientId: req.clientId, software: req.clientSoftwareName, softwareVersion: req.clientSoftwareVersion }, 'client identified');
    }
    const names = served();
    return {
      errorCode: 0,
      apiKeys: allApis()
        .filter((a) => names.has(a.name))
        .map((a) => ({ apiKey: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion })),
      throttleTimeMs: 0,
    };
  };
}
