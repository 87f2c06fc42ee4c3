#!/usr/bin/env node
// Compares what cfn-guard reported for each template with guard/exceptions.yml: every failure
// must be listed there, and every entry listed there must still fail (a stale entry is an error
// too, so the file only ever says what is true). scripts/check-guard.sh runs cfn-guard and calls
// this with its reports.
// Usage: node scripts/check-guard.mjs EXCEPTIONS_FILE NAME=REPORT...
//   REPORT: the output of `cfn-guard validate ... --show-summary fail -o single-line-summary`.
// Exit status: 0 clean, 1 unexpected failures or stale exceptions, 2 bad input.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

class InputError extends Error {}

const key = (template, rule, resource) => `${template} ${rule} ${resource}`;

/** "ct-ec2-pr-10" (the rule file) -> "CT.EC2.PR.10" (the control's id in Control Tower). */
function controlId(ruleFile) {
  return ruleFile.toUpperCase().replaceAll('-', '.');
}

/**
 * The failures in one single-line-summary report: [{rule, ruleName, resource, type, message}].
 * The report is cfn-guard's human-readable text, so the parse checks itself against the counts
 * cfn-guard prints and refuses a report it does not fully understand.
 */
function parseReport(text, source = 'report') {
  const failedRules = new Set();
  const blocks = [];
  let block;
  let resource;
  for (const line of text.split('\n')) {
    let m;
    if ((m = /^(ct-[a-z0-9-]+)\.guard\/(\S+)\s+FAIL$/.exec(line))) {
      failedRules.add(`${m[1]}/${m[2]}`);
    } else if ((m = /^Evaluating data .+ against rules (ct-[a-z0-9-]+)\.guard$/.exec(line))) {
      block = { ruleFile: m[1], declared: undefined, failures: [] };
      blocks.push(block);
      resource = undefined;
    } else if ((m = /^Number of non-compliant resources (\d+)$/.exec(line))) {
      if (!block) throw new InputError(`${source}: resource count outside a rule block`);
      block.declared = Number(m[1]);
    } else if ((m = /^Resource = (\S+) \{$/.exec(line))) {
      if (!block) throw new InputError(`${source}: resource ${m[1]} outside a rule block`);
      resource = { id: m[1], type: '', ruleNames: [], message: [] };
      block.failures.push(resource);
    } else if (resource && (m = /^ {2}Type\s+= (\S+)$/.exec(line))) {
      resource.type = m[1];
    } else if (resource && (m = /^ {2}Rule = (\S+) \{$/.exec(line))) {
      resource.ruleNames.push(m[1]);
    } else if (resource && resource.message.length < 2 && (m = /^\s+(\[(?:CT\.[A-Z0-9.]+|FIX)\]: .*)$/.exec(line))) {
      resource.message.push(m[1].trim());
    }
  }

  const failures = [];
  const seenRules = new Set();
  for (const b of blocks) {
    if (b.declared !== b.failures.length) {
      throw new InputError(`${source}: ${b.ruleFile} declares ${b.declared} non-compliant resources, ${b.failures.length} parsed`);
    }
    for (const r of b.failures) {
      if (r.ruleNames.length === 0) throw new InputError(`${source}: ${b.ruleFile} names no rule for ${r.id}`);
      for (const ruleName of r.ruleNames) {
        seenRules.add(`${b.ruleFile}/${ruleName}`);
        failures.push({ rule: controlId(b.ruleFile), ruleName, resource: r.id, type: r.type, message: r.message });
      }
    }
  }
  const unexplained = [...failedRules].filter((r) => !seenRules.has(r));
  if (unexplained.length > 0) throw new InputError(`${source}: failed rules without a non-compliant resource: ${unexplained.join(', ')}`);
  return failures;
}

const asList = (value) => (Array.isArray(value) ? value : [value]);

/**
 * guard/exceptions.yml -> the template names it knows, and a Map of "template rule resource" to
 * the entry, one per combination.
 */
function loadExceptions(file) {
  const doc = parse(readFileSync(file, 'utf8'));
  const templates = doc?.templates;
  const entries = doc?.exceptions;
  if (!Array.isArray(templates) || !Array.isArray(entries)) throw new InputError(`${file}: expected top-level "templates:" and "exceptions:" lists`);
  const exceptions = new Map();
  entries.forEach((entry, i) => {
    const where = `${file}: exceptions[${i}]`;
    const unknown = Object.keys(entry ?? {}).filter((k) => !['template', 'rule', 'resource', 'reason'].includes(k));
    if (unknown.length > 0) throw new InputError(`${where}: unknown field(s) ${unknown.join(', ')}`);
    const { template, rule, resource, reason } = entry;
    const nonEmpty = (v) => typeof v === 'string' && v.trim() !== '';
    if (!asList(template).every((t) => templates.includes(t))) throw new InputError(`${where}: template must be one of ${templates.join(', ')}, or a list of them`);
    if (!nonEmpty(rule) || !/^CT\.[A-Z0-9]+\.PR\.\d+$/.test(rule)) throw new InputError(`${where}: rule must be a control id such as CT.EC2.PR.15`);
    if (!asList(resource).every(nonEmpty)) throw new InputError(`${where}: resource must be a logical id or a list of them`);
    if (!nonEmpty(reason)) throw new InputError(`${where}: every exception needs a reason`);
    for (const t of asList(template)) {
      for (const r of asList(resource)) {
        const k = key(t, rule, r);
        if (exceptions.has(k)) throw new InputError(`${where}: ${k} is listed twice`);
        exceptions.set(k, { template: t, rule, resource: r });
      }
    }
  });
  return { templates, exceptions };
}

function main(argv) {
  const [exceptionsFile, ...pairs] = argv;
  if (!exceptionsFile || pairs.length === 0) throw new InputError('usage: check-guard.mjs EXCEPTIONS_FILE NAME=REPORT...');
  const { templates, exceptions } = loadExceptions(exceptionsFile);
  const reports = new Map();
  for (const pair of pairs) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(pair);
    if (!m) throw new InputError(`not NAME=REPORT: ${pair}`);
    if (!templates.includes(m[1])) throw new InputError(`unknown template ${m[1]}: ${exceptionsFile} names ${templates.join(', ')}`);
    if (reports.has(m[1])) throw new InputError(`template ${m[1]} given twice`);
    reports.set(m[1], parseReport(readFileSync(m[2], 'utf8'), `${m[1]} (${m[2]})`));
  }

  const shown = path.relative(process.cwd(), exceptionsFile);
  let problems = 0;
  const failing = new Set();
  for (const [template, failures] of reports) {
    const unexpected = [];
    for (const f of failures) {
      const k = key(template, f.rule, f.resource);
      failing.add(k);
      if (!exceptions.has(k)) unexpected.push(f);
    }
    console.log(`guard: ${template}: ${failures.length} rule failure(s), ${failures.length - unexpected.length} of them listed exceptions`);
    unexpected.sort((a, b) => a.rule.localeCompare(b.rule) || a.resource.localeCompare(b.resource));
    unexpected.forEach((f, i) => {
      console.error(`FAIL ${template}: ${f.rule} (${f.ruleName}) on ${f.resource} (${f.type})`);
      // The control's text and its fix, once per rule.
      if (unexpected[i + 1]?.rule !== f.rule) for (const line of f.message) console.error(`       ${line}`);
    });
    problems += unexpected.length;
  }
  // Only the templates checked in this run can make an exception stale.
  for (const [k, e] of exceptions) {
    if (reports.has(e.template) && !failing.has(k)) {
      problems += 1;
      console.error(`STALE ${e.template}: ${e.rule} on ${e.resource} no longer fails; remove it from ${shown}`);
    }
  }
  if (problems > 0) {
    console.error(`guard: ${problems} problem(s). Fix the template, or list an intended failure in ${shown} with its reason.`);
    return 1;
  }
  console.log('guard: every failure is a listed exception, and every exception still applies');
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  const expected = error instanceof InputError || error?.code === 'ENOENT' || error?.name === 'YAMLParseError';
  console.error(expected ? `error: ${error.message}` : error);
  // 2, not 1: no verdict on the templates.
  process.exitCode = 2;
}
