/**
 * The dashboard and alarms the stack ships: present in the packaged template, reading exactly the
 * metrics the functions emit (contracts METRIC_NAMES, namespace and dimensions), alarming to the ops
 * topic, and with bounds from stage params that packaging checks.
 */
import { METRIC_DIMENSIONS, METRIC_NAMES, METRICS_NAMESPACE } from '../../functions/lib/contracts';

const { packagedTemplate } = require('../../deploy/packaged-stages') as { packagedTemplate: (name: string) => { Resources: Record<string, { Type: string; Properties: any }> } };
const { monitoringResources, resources } = require('../../deploy/monitoring') as {
  monitoringResources: (ctx: { service: string; stage: string; staleFleetDays: number; maxClusterImageAgeDays: number }) => Record<string, { Type: string; Properties: any }>;
  resources: (a: { resolveVariable: (v: string) => Promise<unknown> }) => Promise<unknown>;
};

let template: ReturnType<typeof packagedTemplate>;
beforeAll(() => {
  template = packagedTemplate('default');
}, 120_000);

function dashboardBody(): { widgets: { type: string; properties: Record<string, any> }[] } {
  const text = template.Resources.PipelineDashboard!.Properties.DashboardBody['Fn::Sub'] as string;
  return JSON.parse(text.replace(/\$\{AWS::Region\}/g, 'eu-west-1').replace(/\$\{(\w+)\.Arn\}/g, 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:$1'));
}

it('ships a dashboard whose every metric is one the functions emit, in their namespace and stage', () => {
  const text = JSON.stringify(dashboardBody());
  const named = new Set([...text.matchAll(/MetricName=\\"(\w+)\\"|"EcsAmiPipeline","(\w+)"/g)].map((m) => m[1] ?? m[2]));
  expect([...named].filter((n) => !(Object.values(METRIC_NAMES) as string[]).includes(n!))).toEqual([]);
  // Every metric the functions emit is on it.
  expect(Object.values(METRIC_NAMES).filter((n) => !named.has(n))).toEqual([]);
  expect(text).toContain(`{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.service},${METRIC_DIMENSIONS.stage},${METRIC_DIMENSIONS.cluster}}`);
  expect(text).toContain(`${METRIC_DIMENSIONS.stage}=\\"ci\\"`);
  const alarmsWidget = dashboardBody().widgets.find((w) => w.type === 'alarm')!;
  expect(alarmsWidget.properties.alarms).toHaveLength(2);
});

it('alarms to the ops topic when no image was promoted for staleFleetDays, or a cluster image is too old', () => {
  const stale = template.Resources.FleetNotUpdatedAlarm!.Properties;
  const old = template.Resources.ClusterImageTooOldAlarm!.Properties;
  for (const alarm of [stale, old]) {
    expect(alarm.Namespace).toBe(METRICS_NAMESPACE);
    expect(alarm.Dimensions).toEqual([
      { Name: 'service', Value: 'ecs-ami-pipeline' },
      { Name: 'Stage', Value: 'ci' },
    ]);
    expect(alarm.AlarmActions).toEqual([{ Ref: 'NotificationsTopic' }]);
    // The total evaluation range AWS allows for a period of a day is 7 days.
    expect(alarm.Period * alarm.EvaluationPeriods).toBeLessThanOrEqual(7 * 86400);
  }
  expect(stale).toMatchObject({ MetricName: METRIC_NAMES.daysSinceLastPromotion, Threshold: 14, TreatMissingData: 'breaching' });
  expect(old).toMatchObject({ MetricName: METRIC_NAMES.oldestClusterImageAge, Threshold: 35, TreatMissingData: 'notBreaching' });
});

it('lets CloudWatch use the topic key, and nothing else new', () => {
  const key = template.Resources.NotificationsKey!.Properties.KeyPolicy.Statement as { Sid: string; Principal?: { Service?: string }; Action: string[]; Condition?: unknown }[];
  const cloudwatch = key.find((s) => s.Sid === 'CloudWatchAlarmsPublishToTheTopic')!;
  expect(cloudwatch.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
  expect(cloudwatch.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  expect(cloudwatch.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
});

it('takes the bounds from the params, and refuses one the daily figure cannot serve', async () => {
  const custom = monitoringResources({ service: 's', stage: 'prod', staleFleetDays: 9, maxClusterImageAgeDays: 60 });
  expect(custom.FleetNotUpdatedAlarm!.Properties.Threshold).toBe(9);
  expect(custom.ClusterImageTooOldAlarm!.Properties.AlarmName).toBe('s-prod-cluster-image-too-old');
  const resolving = (params: Record<string, unknown>) => ({
    resolveVariable: async (name: string) =>
      ({ 'self:service': 's', 'sls:stage': 'prod', 'param:staleFleetDays': 14, 'param:maxClusterImageAgeDays': 35, ...params })[name],
  });
  await expect(resources(resolving({ 'param:staleFleetDays': 1 }))).rejects.toThrow(/staleFleetDays must be a whole number of days from 2 to 365/);
  await expect(resources(resolving({ 'param:maxClusterImageAgeDays': 'a month' }))).rejects.toThrow(/maxClusterImageAgeDays .*got "a month"/);
});
