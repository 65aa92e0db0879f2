import { describe, expect, it } from 'vitest';
import { formatGoFloat, parseGoFloat } from '../../../src/core/float.js';

describe('parseGoFloat reads values as Go strconv.ParseFloat does (minus hex and underscores)', () => {
  it.each([
    ['1', 1],
    ['-42.5', -42.5],
    ['+1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e+10', 1e10],
    ['1E-3', 0.001],
    ['00042', 42],
    ['1e-400', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['0.1000000000000000055511151231257827', 0.1],
    ['NaN', NaN],
    ['nan', NaN],
    ['Inf', Infinity],
    ['+inf', Infinity],
    ['-Infinity', -Infinity],
    ['iNfInItY', Infinity],
  ])('accepts %s', (text, expected) => {
    expect(parseGoFloat(text)).toBe(expected);
  });

  it('keeps the sign of negative zero', () => {
    expect(Object.is(parseGoFloat('-0'), -0)).toBe(true);
  });

  it.each([
    '',
    '+NaN',
    '-nan',
    '0x1p-3',
    '0x1A',
    '1_000',
    '1,5',
    '1.5.5',
    '1e',
    'e5',
    '.',
    '+',
    '--1',
    '"1"',
    'true',
    '1e400',
    'infinit',
    'Infinityy',
    ' 1',
    '1 ',
  ])('rejects %j', (text) => {
    expect(parseGoFloat(text)).toBeUndefined();
  });
});

describe('formatGoFloat writes values as expfmt writeFloat does', () => {
  it.each([
    [1, '1'],
    [0, '0'],
    [-0, '0'],
    [-1, '-1'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1.5, '1.5'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1500000, '1.5e+06'],
    [1234567, '1.234567e+06'],
    [123456789, '1.23456789e+08'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [0.000123, '0.000123'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [5e-324, '5e-324'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [-2.5e-7, '-2.5e-07'],
    [0.1, '0.1'],
    [999999.5, '999999.5'],
  ])('%s → %s', (value, expected) => {
    expect(formatGoFloat(value)).toBe(expected);
  });
});
