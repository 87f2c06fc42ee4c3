'use strict';
// The stage's CloudWatch dashboard and alarms, from the metric names and dimensions of the contracts
// (functions/lib/contracts/index.ts, METRIC_NAMES): `${file(./deploy/monitoring.js):resources}`.
// The functions write the metrics in the embedded metric format (functions/lib/aws/metrics.ts).
const { paramError } = require('./param-error');
const { requireTs } = require('./load-ts');

async function boundedParam(resolveVariable, name) {
  const { LIMITS } = requireTs('functions/lib/contracts/index.ts');
  const raw = await resolveVariable(`param:${name}`);
  const n = Number(raw);
  const { min, max } = LIMITS[name];
  if (!Number.isInteger(n) || n < min || n > max) {
    throw paramError(`serverless.yml params.<stage>.${name} must be a whole number of days from ${min} to ${max} (the alarm reads one figure a day); got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Plain values in, CloudFormation resources out (tested directly). */
function monitoringResources({ service, stage, staleFleetDays, maxClusterImageAgeDays }) {
  const { METRICS_NAMESPACE, METRIC_NAMES: M, METRIC_DIMENSIONS: D } = requireTs('functions/lib/contracts/index.ts');
  const dimensions = [
    { Name: D.service, Value: service },
    { Name: D.stage, Value: stage },
  ];
  const ops = [{ Ref: 'NotificationsTopic' }];
  const alarm = (props) => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      Namespace: METRICS_NAMESPACE,
      Dimensions: dimensions,
      Statistic: 'Maximum',
      // One figure a day (the retention pass); two days, so a pass that runs late does not alarm.
      Period: 86400,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ops,
      OKActions: ops,
      ...props,
    },
  });

  // Metric widgets: a fixed metric with the stage's dimensions, or a SEARCH over one more dimension.
  const metric = (name, stat = 'Maximum') => [METRICS_NAMESPACE, name, D.service, service, D.stage, stage, { stat }];
  const search = (name, by, stat, period) => ({
    expression: `SEARCH('{${METRICS_NAMESPACE},${D.service},${D.stage},${by}} MetricName="${name}" ${D.stage}="${stage}"', '${stat}', ${period})`,
    id: `e${name.replace(/\W/g, '')}`,
  });
  const widget = (x, y, title, properties) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', stacked: false, ...properties },
  });
  const body = {
    widgets: [
      widget(0, 0, 'Time to patched fleet (hours): base AMI published -> every cluster confirmed', {
        metrics: [[{ expression: 'm1 / 3600', label: 'hours', id: 'e1' }], [...metric(M.timeToPatchedFleet), { id: 'm1', visible: false }]],
        period: 86400,
      }),
      widget(12, 0, 'Age of the image each cluster runs (days)', { metrics: [[search(M.clusterImageAge, D.cluster, 'Maximum', 86400)]], period: 86400 }),
      widget(0, 6, 'Runs by outcome (per day)', { metrics: [[search(M.runsEnded, D.status, 'Sum', 86400)]], period: 86400, view: 'bar' }),
      widget(12, 6, 'Clusters rolled and rolled back (per day)', {
        metrics: [metric(M.clustersRolled, 'Sum'), metric(M.clustersRolledBack, 'Sum')],
        period: 86400,
        view: 'bar',
      }),
      widget(0, 12, 'Bake duration (minutes)', { metrics: [[{ expression: 'm1 / 60', label: 'minutes', id: 'e1' }], [...metric(M.bakeDuration), { id: 'm1', visible: false }]], period: 86400 }),
      widget(12, 12, 'Rollout duration per cluster (seconds)', { metrics: [[search(M.rolloutDuration, D.cluster, 'Maximum', 86400)]], period: 86400 }),
      widget(0, 18, 'Days since the last promotion, and the oldest cluster image', {
        metrics: [metric(M.daysSinceLastPromotion), metric(M.oldestClusterImageAge)],
        period: 86400,
        annotations: {
          horizontal: [
            { label: `alarm: no promotion for ${staleFleetDays} days`, value: staleFleetDays },
            { label: `alarm: a cluster image older than ${maxClusterImageAgeDays} days`, value: maxClusterImageAgeDays },
          ],
        },
      }),
      {
        type: 'alarm',
        x: 12,
        y: 18,
        width: 12,
        height: 6,
        // The alarms by ARN, filled in by the Fn::Sub around the body.
        properties: { title: 'Alarms', alarms: ['${FleetNotUpdatedAlarm.Arn}', '${ClusterImageTooOldAlarm.Arn}'] },
      },
    ],
  };

  return {
    FleetNotUpdatedAlarm: alarm({
      AlarmName: `${service}-${stage}-fleet-not-updated`,
      AlarmDescription: `No image promoted to ${service} ${stage}'s fleet for more than ${staleFleetDays} days, or the daily retention pass stopped reporting (param staleFleetDays)`,
      MetricName: M.daysSinceLastPromotion,
      Threshold: staleFleetDays,
      // No figure at all means the daily pass is not running: that is worth an alarm too.
      TreatMissingData: 'breaching',
    }),
    ClusterImageTooOldAlarm: alarm({
      AlarmName: `${service}-${stage}-cluster-image-too-old`,
      AlarmDescription: `A cluster of ${service} ${stage} runs an image older than ${maxClusterImageAgeDays} days (param maxClusterImageAgeDays); the dashboard's image-age widget says which`,
      MetricName: M.oldestClusterImageAge,
      Threshold: maxClusterImageAgeDays,
      // No cluster with a known image age yet (a fresh stage): nothing to alarm about.
      TreatMissingData: 'notBreaching',
    }),
    PipelineDashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `${service}-${stage}`,
        DashboardBody: { 'Fn::Sub': JSON.stringify(body) },
      },
    },
  };
}

module.exports = {
  monitoringResources,
  resources: async ({ resolveVariable }) => {
    const service = await resolveVariable('self:service');
    const stage = await resolveVariable('sls:stage');
    return {
      Resources: monitoringResources({
        service,
        stage,
        staleFleetDays: await boundedParam(resolveVariable, 'staleFleetDays'),
        maxClusterImageAgeDays: await boundedParam(resolveVariable, 'maxClusterImageAgeDays'),
      }),
    };
  },
};
