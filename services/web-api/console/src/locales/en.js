// The console's English text.
export default {
  app: { title: 'EQMS service hall management', language: 'Language', logout: 'Log out', changePassword: 'Change password' },
  login: {
    title: 'Log in', login: 'Login', password: 'Password', submit: 'Log in',
    wrong: 'Wrong login or password', locked: 'Too many failed logins: the account is locked until {time}',
    network: 'Cannot reach the server: {detail}',
  },
  password: {
    title: 'Change password', forced: 'An administrator reset your password: set a new one to go on.',
    current: 'Current password', new: 'New password', confirm: 'Repeat the new password', submit: 'Save',
    mismatch: 'The two new passwords differ', rules: '10 to 128 characters, with 3 of: lowercase, uppercase, digits, others; not the login.',
    done: 'Password changed', back: 'Back',
  },
  menu: { live: 'Live hall', stats: 'Statistics', tree: 'Organisation' },
  live: {
    pickBranch: 'Pick a branch on the left to see its live hall.', branches: 'Branches',
    status: { connecting: 'Connecting', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped' },
    windows: 'Windows', queues: 'Queues', display: 'Hall display', ratings: 'Latest ratings today',
    state: { open: 'Open', paused: 'Paused', closed: 'Closed' },
    serving: 'Serving', idle: 'Idle', teller: 'Teller', device: 'Rating device', online: 'online',
    offline: 'offline', unknown: 'unknown', since: 'since {time}', pauseReason: 'Pause reason',
    prefix: 'Queue', waiting: 'Waiting', longest: 'Longest wait', estimated: 'Estimated wait',
    number: 'Ticket', window: 'Window', at: 'Time', score: 'Score', satisfied: 'Satisfied',
    unsatisfied: 'Unsatisfied', neutral: 'Neutral', none: 'None yet', day: 'Day',
  },
  stats: {
    node: 'Node', period: 'Period', group: 'Group by', query: 'Show', figures: 'Figures',
    trend: 'Trend (by day)', compare: 'Comparison', exportXlsx: 'Export Excel', exportCsv: 'Export CSV',
    member: 'Group', current: 'This period', previous: 'Previous period', yearBefore: 'A year before',
    change: 'vs previous', changeYear: 'vs year before', exported: 'Downloaded {name}', empty: 'No data',
    groups: { none: 'Total', day: 'Day', week: 'Week', month: 'Month', child: 'Child nodes',
              window: 'Window', teller: 'Teller', service: 'Service', hour_of_day: 'Hour of day' },
  },
  error: { title: 'Something went wrong', retry: 'Retry' },
}
