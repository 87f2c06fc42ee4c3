/**
 * A CloudFormation endpoint for the functions under test: every request goes to moto unchanged,
 * and the answers show what the simulated rolling update is doing, which moto cannot know:
 *  - UpdateStack, once moto accepted it, starts the simulated rolling update;
 *  - DescribeStacks reports UPDATE_IN_PROGRESS / UPDATE_ROLLBACK_COMPLETE while it says so;
 *  - DescribeStackEvents includes the events of the simulated update (e.g. the missing signal), each
 *    with the ClientRequestToken of the UpdateStack that caused it, as CloudFormation's do.
 * The functions reach it through AWS_ENDPOINT_URL_CLOUDFORMATION: only the endpoint differs.
 * One endpoint serves every region, as moto does: the region a request is for is the one it was
 * signed for, and the stack it names is that region's.
 */
import { readBody } from './http-body';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { SimulatedRollingUpdates, SimulatedStackEvent } from './rolling-update';

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function stackNameOf(nameOrArn: string): string {
  const match = /^arn:[^:]+:cloudformation:[^:]+:[^:]+:stack\/([^/]+)\//.exec(nameOrArn);
  return match ? match[1]! : nameOrArn;
}

/**
 * The region of a SigV4-signed request: its credential scope is `<key>/<date>/<region>/<service>/aws4_request`,
 * in the Authorization header or, for a presigned URL, the X-Amz-Credential query parameter.
 */
export function signedRegion(authorization: string | undefined, url = ''): string | undefined {
  const credential =
    /Credential=([^,\s]+)/.exec(authorization ?? '')?.[1] ?? new URLSearchParams(url.split('?')[1] ?? '').get('X-Amz-Credential') ?? '';
  const scope = credential.split('/');
  return scope.length === 5 && scope[4] === 'aws4_request' && scope[2] ? scope[2] : undefined;
}

/**
 * Replaces one stack's StackStatus (and reason). Stack members nest other <member> lists
 * (parameters, outputs, tags), none of which has a StackStatus, so the first StackStatus after the
 * stack's name is its own.
 */
function overlayStatus(body: string, stackName: string, status: string, reason?: string): string {
  const nameAt = body.indexOf(`<StackName>${xml(stackName)}</StackName>`);
  if (nameAt < 0) return body;
  const statusAt = body.indexOf('<StackStatus>', nameAt);
  const statusEnd = body.indexOf('</StackStatus>', statusAt) + '</StackStatus>'.length;
  if (statusAt < 0 || statusEnd < statusAt) return body;
  const replacement = `<StackStatus>${status}</StackStatus>${reason ? `<StackStatusReason>${xml(reason)}</StackStatusReason>` : ''}`;
  return body.slice(0, statusAt) + replacement + body.slice(statusEnd);
}

function eventXml(stackId: string, stackName: string, event: SimulatedStackEvent): string {
  return [
    '<member>',
    `<StackId>${xml(stackId)}</StackId>`,
    `<EventId>${randomUUID()}</EventId>`,
    `<StackName>${xml(stackName)}</StackName>`,
    `<LogicalResourceId>${xml(event.logicalResourceId)}</LogicalResourceId>`,
    `<ResourceType>${xml(event.resourceType)}</ResourceType>`,
    `<Timestamp>${event.timestamp.toISOString()}</Timestamp>`,
    `<ResourceStatus>${event.resourceStatus}</ResourceStatus>`,
    event.reason ? `<ResourceStatusReason>${xml(event.reason)}</ResourceStatusReason>` : '',
    event.clientRequestToken ? `<ClientRequestToken>${xml(event.clientRequestToken)}</ClientRequestToken>` : '',
    '</member>',
  ].join('');
}

export interface CloudFormationProxy {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startCloudFormationProxy(motoEndpoint: string, updates: SimulatedRollingUpdates): Promise<CloudFormationProxy> {
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const params = new URLSearchParams(body.toString('utf8'));
      const action = params.get('Action');
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)) as [string, string][],
      );
      const upstream = await fetch(`${motoEndpoint}${request.url ?? '/'}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : body,
      });
      let text = await upstream.text();
      const stackName = stackNameOf(params.get('StackName') ?? '');
      // Unsigned (never from an SDK): the stage's region, as the single-region harness always assumed.
      const region = signedRegion(request.headers.authorization, request.url);
      if (upstream.ok && action === 'UpdateStack') {
        updates.updateAccepted(stackName, params.get('ClientRequestToken') ?? undefined, region);
      } else if (upstream.ok && action === 'DescribeStacks') {
        const names = stackName ? [stackName] : [...text.matchAll(/<StackName>([^<]+)<\/StackName>/g)].map((m) => m[1]!);
        for (const name of names) {
          const { status, reason } = updates.statusOf(name, region);
          if (status) text = overlayStatus(text, name, status, reason);
        }
      } else if (upstream.ok && action === 'DescribeStackEvents' && stackName) {
        const stackId = /<StackId>([^<]+)<\/StackId>/.exec(text)?.[1] ?? stackName;
        const injected = updates.eventsOf(stackName, region).map((e) => eventXml(stackId, stackName, e)).join('');
        text = text.replace('<StackEvents>', `<StackEvents>${injected}`);
      }
      response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/xml' });
      response.end(text);
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`cloudformation proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
