// The settings table's rows (settings.ts) of the flows through the user's mailbox and browser:
// SMTP and the mails' wording, passkeys, email verification and sign-in links; then the audit
// log's retention and the metrics endpoint.
import {
  DAY_SECONDS,
  duration,
  httpUrl,
  integerSetting,
  kind,
  list,
  mailbox,
  onOff,
  origins,
  rpIdCheck,
  shortText,
  text,
} from './setting-rules.ts';
import type { Setting } from './settings.ts';

export const ACCOUNT_SETTINGS: readonly Setting[] = [
  {
    option: 'smtpUrl',
    flag: 'smtp-url',
    env: 'SMTP_URL',
    default: '',
    secret: true,
    help: 'smtp://user:pass@host:587 (or smtps://…:465): send mail; without it mail goes to <data-dir>/outbox and its link to the log',
    parse: text,
    check: httpUrl(
      /^smtps?:$/,
      'an smtp:// (or smtps://) URL, e.g. smtp://user:pass@mail.example.com:587',
    ),
  },
  {
    option: 'mailFrom',
    flag: 'mail-from',
    env: 'LAISSEZ_MAIL_FROM',
    default: 'laissez <no-reply@localhost>',
    help: 'the From of every mail',
    parse: (t) => t,
    check: mailbox,
  },
  {
    option: 'productName',
    flag: 'product-name',
    env: 'LAISSEZ_PRODUCT_NAME',
    default: 'laissez',
    help: 'the name mails give the product',
    parse: (t) => t,
    check: shortText(100),
  },
  {
    option: 'publicUrl',
    flag: 'public-url',
    env: 'LAISSEZ_PUBLIC_URL',
    default: '<issuer>',
    derived: true,
    help: 'where links in mails point: the URL users reach this server at',
    parse: (t) => t,
    check: httpUrl(
      /^https?:$/,
      'an http(s) URL without query, e.g. https://auth.example.com',
      true,
    ),
  },
  {
    option: 'rpId',
    flag: 'rp-id',
    env: 'LAISSEZ_RP_ID',
    default: '<host of public-url>',
    derived: true,
    help: 'the WebAuthn relying party id passkeys are bound to: a domain (example.com), never an IP address',
    parse: (t) => t,
    check: rpIdCheck,
  },
  {
    option: 'rpOrigins',
    flag: 'rp-origin',
    env: 'LAISSEZ_RP_ORIGIN',
    default: '<origin of public-url>',
    derived: true,
    help: 'comma-separated origins of the pages that register and use passkeys (within the rp-id)',
    parse: list,
    check: origins,
  },
  {
    option: 'verifyEmail',
    flag: 'verify-email',
    env: 'LAISSEZ_VERIFY_EMAIL',
    default: 'off',
    help: 'on: registration mails a verification link and answers 202 alike for new and taken emails',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'requireVerifiedEmail',
    flag: 'require-verified-email',
    env: 'LAISSEZ_REQUIRE_VERIFIED_EMAIL',
    default: 'off',
    help: 'on: log-in is refused (email_not_verified) until the email is verified; needs --verify-email',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'signInLinks',
    flag: 'sign-in-links',
    env: 'LAISSEZ_SIGN_IN_LINKS',
    default: 'off',
    help: 'on: offer sign-in links by mail (passwordless)',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'auditRetention',
    flag: 'audit-retention',
    env: 'LAISSEZ_AUDIT_RETENTION',
    default: '90d',
    unit: 's',
    help: 'how long security events stay in the audit log (older ones are deleted hourly)',
    parse: duration('s', 'positive'),
    check: integerSetting(60, 10 * 365 * DAY_SECONDS),
  },
  {
    // Environment only, like the key-encryption key: a command line is visible to every user.
    option: 'metricsToken',
    env: 'LAISSEZ_METRICS_TOKEN',
    default: '',
    secret: true,
    help: 'serve Prometheus metrics at /metrics to requests with "Authorization: Bearer <this>" (32 to 256 characters); unset: no /metrics',
    parse: text,
    check: (value, n, option) => {
      if (typeof value !== 'string' || value.length < 32 || value.length > 256) {
        throw n.fail(`${n.name(option)} must be a string of 32 to 256 characters`);
      }
    },
  },
];
