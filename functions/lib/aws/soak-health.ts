import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ListServicesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { AlarmView, ServiceView, SoakObservation } from '../decisions/gates';

/** What a soak check reads: the wave's alarms (metric and composite) and the services on its clusters. */

export async function readAlarms(cloudwatch: CloudWatchClient, names: string[]): Promise<{ alarms: AlarmView[]; missing: string[] }> {
  if (names.length === 0) return { alarms: [], missing: [] };
  // At most LIMITS.soakAlarms (20) names: one call, under DescribeAlarms' 100 per page.
  const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100 }));
  const found = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => ({
    name: a.AlarmName ?? '',
    state: a.StateValue ?? 'INSUFFICIENT_DATA',
    reason: a.StateReason,
  }));
  const seen = new Set(found.map((a) => a.name));
  return { alarms: found, missing: names.filter((n) => !seen.has(n)) };
}

/** Every service of each cluster with its desired and running task counts. */
export async function readServices(ecs: ECSClient, clusters: string[]): Promise<ServiceView[]> {
  const views: ServiceView[] = [];
  for (const cluster of clusters) {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(new ListServicesCommand({ cluster, nextToken }));
      arns.push(...(page.serviceArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    // DescribeServices takes at most 10 services per call.
    for (let i = 0; i < arns.length; i += 10) {
      const out = await ecs.send(new DescribeServicesCommand({ cluster, services: arns.slice(i, i + 10) }));
      for (const s of out.services ?? []) {
        if (s.status && s.status !== 'ACTIVE') continue;
        views.push({ cluster, service: s.serviceName ?? s.serviceArn ?? 'unknown', desired: s.desiredCount ?? 0, running: s.runningCount ?? 0 });
      }
    }
  }
  return views;
}

export async function observeSoak(
  clients: { cloudwatch: CloudWatchClient; ecs: ECSClient },
  alarmNames: string[],
  clusters: string[],
  checkServices: boolean,
): Promise<SoakObservation> {
  const [{ alarms, missing }, services] = await Promise.all([
    readAlarms(clients.cloudwatch, alarmNames),
    checkServices ? readServices(clients.ecs, clusters) : Promise.resolve([]),
  ]);
  return { alarms, missingAlarms: missing, services };
}
