import { describe, expect, it } from 'vitest';
import {
  findShortenerHosts,
  findShortenerLinks,
  PUBLIC_SHORTENERS,
} from '../../../server/messaging/index.js';

describe('PUBLIC_SHORTENERS: no links on public shorteners', () => {
  it('holds at least the required list of public shorteners', () => {
    const r5 = 'bit.ly bitly.com bit.do tinyurl.com tiny.cc goo.gl ow.ly ht.ly is.gd v.gd t.co buff.ly rebrand.ly rb.gy cutt.ly shorturl.at t.ly x.co s.id lnkd.in shorte.st adf.ly bl.ink soo.gd';
    expect([...PUBLIC_SHORTENERS].sort()).toEqual(r5.split(' ').sort());
  });

  // Every listed domain, in every spelling that must be caught: bare, with scheme, with www., any case.
  it.each(PUBLIC_SHORTENERS.flatMap((domain) => [
    `${domain}/abc`,
    `https://${domain}/abc`,
    `http://www.${domain}/abc`,
    `HTTPS://WWW.${domain.toUpperCase()}/ABC`,
  ]))('finds %s', (link) => {
    expect(findShortenerLinks(`See ${link} today`)).toEqual([link]);
  });
});

describe('findShortenerLinks', () => {
  it.each<[string, string[]]>([
    ['(bit.ly/x)', ['bit.ly/x']],
    ['HTTPS://WWW.Bit.Ly/abc', ['HTTPS://WWW.Bit.Ly/abc']],
    ['Your quote: bit.ly/3xYz.', ['bit.ly/3xYz']],
    ['bit.ly', ['bit.ly']],
    ['Go to bit.ly!', ['bit.ly']],
    ['"tinyurl.com/q"', ['tinyurl.com/q']],
    ['[goo.gl/a],', ['goo.gl/a']],
    ['link:t.co/x', ['t.co/x']],
    ['//bit.ly/x', ['//bit.ly/x']],
    ['https://bit.ly:443/x', ['https://bit.ly:443/x']],
    ['https://user@bit.ly/x', ['https://user@bit.ly/x']],
    ['m.tiny.cc/x (a subdomain of a shortener is the shortener)', ['m.tiny.cc/x']],
    ['bit.ly/a and tinyurl.com/b', ['bit.ly/a', 'tinyurl.com/b']],
    ['Pay at https://example.com/pay?next=https://bit.ly/x', ['https://bit.ly/x']],
    ['bit.ly?x=1', ['bit.ly?x=1']],
    ['bit.ly#frag', ['bit.ly#frag']],
    ['Link:-bit.ly/x', ['bit.ly/x']],
    ['_bit.ly/x', ['bit.ly/x']],
  ])('%j -> %j', (text, links) => {
    expect(findShortenerLinks(text)).toEqual(links);
  });

  // Decision: only the host of a link counts. "example.com/bit.ly" is a page on example.com, and an e-mail address
  // is not a link.
  it.each([
    'bit.lyrics.com',
    'https://bit.lyrics.com/song',
    'mybit.ly.example',
    'mybit.ly',
    'example.com/bit.ly',
    'https://example.com/go/bit.ly/x',
    'bit.ly.example.com/x',
    'notbit.ly',
    'at.co',
    't.com',
    'tiny.cc.evil.com',
    'contact help@bit.ly for support',
    'bit ly',
    'bit-ly.com',
    'https://acme.example.com/q/123',
    'The end. It is.',
    'Hi Ann, your quote is ready.',
    '',
  ])('%j -> none', (text) => {
    expect(findShortenerLinks(text)).toEqual([]);
  });

  it('names each shortener domain once', () => {
    expect(findShortenerHosts('www.bit.ly/a, BIT.LY/b and m.tiny.cc/c')).toEqual(['bit.ly', 'tiny.cc']);
  });
});
