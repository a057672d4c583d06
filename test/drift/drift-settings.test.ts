/**
 * The pieces around the drift check that take outside input: config.json `drift` settings
 * (strict), the drift function's invocation payload, the window's folders, and the report's text
 * helpers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readDriftCheckConfig } from '../../src/config/drift-check-config.ts';
import { DriftInvocationError, parseDriftInvocation } from '../../src/drift/check/invocation.ts';
import { DriftConfigError, featureOptions, parseDriftSettings } from '../../src/drift/check/settings.ts';
import {
  captureHourPrefixes,
  outcomeDayPrefixes,
  reportFolder,
  windowEndingAt,
} from '../../src/drift/check/window.ts';
import { escapeHtml, formatNumber } from '../../src/drift/report/html/format.ts';
import { DEFAULT_THRESHOLDS } from '../../src/drift/statistics/index.ts';

describe('config.json drift settings', () => {
  it("defaults to Evidently's thresholds, 24 hours, 100 predictions and 30 outcomes", () => {
    const settings = parseDriftSettings(undefined, 'iris');

    assert.deepEqual(settings.options.thresholds, DEFAULT_THRESHOLDS);
    assert.equal(settings.options.driftShare, 0.5);
    assert.equal(settings.options.correction, 'benjamini-hochberg');
    assert.equal(settings.windowHours, 24);
    assert.equal(settings.minPredictions, 100);
    assert.equal(settings.minOutcomes, 30);
    assert.deepEqual(settings.performance, { metric: null, maxDrop: null, maxRelativeDrop: null });
  });

  it('takes every documented setting, and per-feature overrides over the model-wide ones', () => {
    const settings = parseDriftSettings(
      {
        window_hours: 6,
        min_predictions: 500,
        min_outcomes: 50,
        outcome_lookback_hours: 72,
        thresholds: { wasserstein: 0.2, ks: 0.01 },
        warning_ratio: 0.8,
        correction: 'bonferroni',
        drift_share: 0.3,
        features: { age: { test: 'psi', thresholds: { psi: 0.25 } } },
        performance: { metric: 'f1_macro', max_drop: 0.02 },
        categorical_features: ['zip'],
      },
      'credit',
    );

    assert.equal(settings.windowHours, 6);
    assert.equal(settings.minPredictions, 500);
    assert.equal(settings.minOutcomes, 50);
    assert.equal(settings.outcomeLookbackHours, 72);
    assert.equal(settings.options.thresholds.wasserstein, 0.2);
    assert.equal(settings.options.thresholds.ks, 0.01);
    assert.equal(settings.options.thresholds.psi, 0.2);
    assert.equal(settings.options.warningRatio, 0.8);
    assert.equal(settings.options.correction, 'bonferroni');
    assert.equal(settings.options.driftShare, 0.3);
    const age = featureOptions(settings, 'age');
    assert.equal(age.test, 'psi');
    assert.equal(age.thresholds.psi, 0.25);
    assert.equal(age.thresholds.ks, 0.01, 'the model-wide thresholds still apply to the feature');
    assert.equal(featureOptions(settings, 'income'), settings.options);
    assert.deepEqual(settings.performance, { metric: 'f1_macro', maxDrop: 0.02, maxRelativeDrop: null });
    assert.deepEqual(settings.categoricalFeatures, ['zip']);
  });

  it('refuses a typo or a wrong value, naming the field', () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ window_hour: 6 }, /unknown field 'drift\.window_hour'/],
      [{ window_hours: 0 }, /'drift\.window_hours' must be a positive number; got number 0/],
      [{ min_predictions: 2.5 }, /'drift\.min_predictions' must be a positive integer/],
      [{ thresholds: { kss: 0.1 } }, /unknown field 'drift\.thresholds\.kss' \(known: ks, chisquare/],
      [{ thresholds: { ks: 1.5 } }, /threshold for 'ks' must be in \(0, 1\)/],
      [
        { correction: 'holm' },
        /'drift\.correction' must be one of benjamini-hochberg, bonferroni, none; got "holm"/,
      ],
      [{ features: { age: { tset: 'ks' } } }, /'drift\.features\.age\.tset'/],
      [{ features: { age: { test: 'anderson' } } }, /'drift\.features\.age\.test' must be one of/],
      [{ performance: { metric: 'precision' } }, /'drift\.performance\.metric' must be one of accuracy/],
      [{ performance: { max_drop: -1 } }, /'drift\.performance\.max_drop' must be a number ≥ 0/],
      [{ categorical_features: 'zip' }, /'drift\.categorical_features' must be an array/],
    ];
    for (const [drift, message] of refused) {
      assert.throws(
        () => parseDriftSettings(drift, 'credit'),
        (error: unknown) => error instanceof DriftConfigError && message.test(error.message),
        JSON.stringify(drift),
      );
    }
  });

  it('keeps a feature called __proto__ as an ordinary override', () => {
    const settings = parseDriftSettings(JSON.parse('{"features":{"__proto__":{"test":"psi"}}}'), 'odd');

    assert.equal(featureOptions(settings, '__proto__').test, 'psi');
    assert.equal(featureOptions(settings, 'other').test, undefined);
  });

  it('reads the function defaults from the environment, failing on a bad value', () => {
    const config = readDriftCheckConfig({ MODEL_BUCKET: 'b', DRIFT_WINDOW_HOURS: '6', EVENT_BUS_NAME: 'ml' });

    assert.equal(config.defaults.windowHours, 6);
    assert.equal(config.eventBusName, 'ml');
    assert.equal(config.eventsFile, undefined);
    assert.throws(
      () => readDriftCheckConfig({ MODEL_BUCKET: 'b', DRIFT_MIN_OUTCOMES: 'many' }),
      /DRIFT_MIN_OUTCOMES/,
    );
  });
});

describe('drift function invocation', () => {
  it('a scheduled event: every model, its time as the window end', () => {
    const invocation = parseDriftInvocation({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-06-02T01:00:00Z',
      detail: {},
    });

    assert.deepEqual(invocation, { time: new Date('2026-06-02T01:00:00Z') });
  });

  it('a direct invocation names models and a window; bad ones are refused', () => {
    assert.deepEqual(parseDriftInvocation({ models: ['iris'], window_hours: 6 }), {
      models: ['iris'],
      windowHours: 6,
    });
    assert.deepEqual(parseDriftInvocation({ detail: { models: ['wine'] } }), { models: ['wine'] });
    assert.throws(() => parseDriftInvocation({ models: ['../etc'] }), DriftInvocationError);
    assert.throws(() => parseDriftInvocation({ models: [] }), DriftInvocationError);
    assert.throws(() => parseDriftInvocation({ window_hours: -1 }), DriftInvocationError);
  });
});

describe('the folders of a window', () => {
  it('lists every capture hour the window touches, plus the one before it', () => {
    const window = windowEndingAt(new Date('2026-06-02T01:30:00Z'), 2);

    assert.deepEqual(captureHourPrefixes('iris', window), [
      'captures/iris/2026/06/01/22/',
      'captures/iris/2026/06/01/23/',
      'captures/iris/2026/06/02/00/',
      'captures/iris/2026/06/02/01/',
    ]);
  });

  it('lists the outcome days of a range across a month end, and names report folders by UTC time', () => {
    assert.deepEqual(
      outcomeDayPrefixes('iris', new Date('2026-05-31T20:00:00Z'), new Date('2026-06-01T01:00:00Z')),
      ['outcomes/iris/2026/05/31/', 'outcomes/iris/2026/06/01/'],
    );
    assert.equal(
      reportFolder('iris', new Date('2026-06-02T05:06:07.890Z')),
      'reports/iris/2026/06/02/050607/',
    );
  });

  it('covers every hour of any window with at most one hour before it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        fc.integer({ min: 1, max: 24 * 90 }),
        (endMs, hours) => {
          const window = windowEndingAt(new Date(endMs), hours);
          const prefixes = captureHourPrefixes('m', window);
          const hourKey = (time: number) => {
            const d = new Date(time);
            const two = (v: number) => String(v).padStart(2, '0');
            return `captures/m/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCHours())}/`;
          };
          return (
            prefixes.includes(hourKey(window.start.getTime())) &&
            prefixes.includes(hourKey(endMs - 1)) &&
            prefixes.includes(hourKey(window.start.getTime() - 3_600_000)) &&
            new Set(prefixes).size === prefixes.length &&
            prefixes.length <= Math.ceil(hours) + 2
          );
        },
      ),
    );
  });
});

describe('report text', () => {
  it('escapes the five HTML-significant characters', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('rounds every non-integer to 3 significant digits', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), (value) => {
        const text = formatNumber(value);
        if (Number.isInteger(value) && Math.abs(value) < 1e6) return text === String(value);
        const digits = text.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
        return digits.length <= 3;
      }),
    );
  });
});
