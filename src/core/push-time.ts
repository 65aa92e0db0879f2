// The two gauges the Pushgateway adds to every pushed group, with its own names and HELP texts
// (existing alerts and dashboards look for them): written into each group's file
// (push/group-file.ts) and shown by the Pushgateway-shaped JSON API (http/push-api.ts).

export const PUSH_TIME_METRIC = 'push_time_seconds';
export const PUSH_FAILURE_TIME_METRIC = 'push_failure_time_seconds';
export const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
export const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';
