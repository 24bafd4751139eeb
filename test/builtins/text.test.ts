// TextClipper, TextRenderer and ResultExtractor: what they emit for ordinary, edge and hostile input.
import { afterEach, describe, expect, it } from "vitest";
import { FlowDefinitionError, ResultExtractor, TextClipper, TextRenderer } from "../../src/index.js";
import { thrownBy } from "../fixtures/testing.js";
import { closeAll, emitted, runOnce } from "./helpers.js";

afterEach(closeAll);

function clipper(config: Record<string, unknown> = {}): TextClipper {
  const r = new TextClipper();
  r.setConfig(config);
  return r;
}

describe("TextClipper", () => {
  it("passes short text unchanged, from the message's data field or from the message itself", async () => {
    const job = await runOnce(clipper({ maxLength: 50 }), { data: "Short text" });
    expect(emitted(job)).toEqual([{ clippedText: "Short text", wasClipped: false, originalLength: 10 }]);
    const plain = await runOnce(clipper({ maxLength: 50 }), { text: "Short text" });
    expect(emitted(plain)).toEqual([{ clippedText: "Short text", wasClipped: false, originalLength: 10 }]);
  });

  it("keeps whole lines that fit and says how many lines it left out", async () => {
    const text = Array.from({ length: 20 }, (_, i) => `Line ${i}`).join("\n");
    const job = await runOnce(clipper({ maxLength: 20 }), { data: text });
    // "Line 0\nLine 1\nLine 2" is 20 characters.
    expect(emitted(job)).toEqual([{ clippedText: "Line 0\nLine 1\nLine 2\n...(17 more lines)", wasClipped: true, originalLength: text.length }]);
  });

  it("uses the configured truncation message, and cuts a first line longer than the limit", async () => {
    const job = await runOnce(clipper({ maxLength: 5, truncationMessage: "[{remaining} cut]" }), { data: "abcdefghij\nxyz" });
    expect(emitted(job)[0]).toMatchObject({ clippedText: "abcde\n[2 cut]", wasClipped: true });
  });

  it("keeps a traceback whole unless told otherwise", async () => {
    const trace = "Traceback (most recent call last):\n  File 'x.py', line 1\n" + "  frame\n".repeat(50);
    expect(emitted(await runOnce(clipper({ maxLength: 30 }), { data: trace }))[0]).toMatchObject({ clippedText: trace, wasClipped: false });
    expect(emitted(await runOnce(clipper({ maxLength: 40, preserveTracebacks: false }), { data: trace }))[0])
      .toMatchObject({ wasClipped: true });
  });

  it("clips other values as their JSON text, and empty text as empty", async () => {
    expect(emitted(await runOnce(clipper(), { data: 12345 }))[0]).toMatchObject({ clippedText: "12345", wasClipped: false });
    expect(emitted(await runOnce(clipper(), { data: { a: [1] } }))[0]).toMatchObject({ clippedText: '{"a":[1]}' });
    expect(emitted(await runOnce(clipper(), { data: "" }))[0]).toEqual({ clippedText: "", wasClipped: false, originalLength: 0 });
  });

  it("clips a huge single-line text quickly", async () => {
    const started = Date.now();
    const job = await runOnce(clipper({ maxLength: 100 }), { data: "x".repeat(2_000_000) });
    expect(emitted(job)[0]).toMatchObject({ wasClipped: true, originalLength: 2_000_000 });
    expect((emitted(job)[0]!.clippedText as string).startsWith("x".repeat(100) + "\n")).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("refuses a bad config when configured, and keeps the config it had", () => {
    const r = clipper({ maxLength: 10 });
    const error = thrownBy(() => r.setConfig({ maxLength: 0 }));
    expect(error).toBeInstanceOf(FlowDefinitionError);
    expect(error.message).toBe("Expected `maxLength` of TextClipper to be an integer from 1 and up, got `0` (number)");
    expect(r.config).toEqual({ maxLength: 10 });
    expect(thrownBy(() => r.setConfig({ maxLenght: 5 })).message).toBe(
      "Unknown config key 'maxLenght' for TextClipper; its keys are: maxLength, preserveTracebacks, truncationMessage. Did you mean 'maxLength'?",
    );
  });
});

describe("TextRenderer", () => {
  it("renders objects as nested tags", async () => {
    const job = await runOnce(new TextRenderer(), { data: { name: "test", value: 42, tags: ["a", "b"], nested: { ok: true } } });
    expect(emitted(job)).toEqual([{
      renderedText: [
        "<name>test</name>",
        "<value>42</value>",
        "<tags>",
        "  <item_0>a</item_0>",
        "  <item_1>b</item_1>",
        "</tags>",
        "<nested>",
        "  <ok>true</ok>",
        "</nested>",
      ].join("\n"),
      originalType: "object",
    }]);
  });

  it("renders Markdown with type hints, and scalars as they are", async () => {
    const r = new TextRenderer();
    r.setConfig({ tagFormat: "markdown", includeTypeHints: true, indent: "    " });
    const job = await runOnce(r, { data: { name: "Ada", langs: ["en", "fr"] } });
    expect(emitted(job)[0]!.renderedText).toBe("**name**: (string) Ada\n**langs**: (array)\n    - (string) en\n    - (string) fr");
    expect(emitted(await runOnce(new TextRenderer(), { data: "plain" }))[0]).toEqual({ renderedText: "plain", originalType: "string" });
    expect(emitted(await runOnce(new TextRenderer(), { data: null }))[0]).toEqual({ renderedText: "null", originalType: "null" });
    expect(emitted(await runOnce(new TextRenderer(), {}))[0]).toEqual({ renderedText: "", originalType: "object" });
  });

  it("writes values nested deeper than maxDepth as JSON, so a deep value cannot exhaust the stack", async () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 1500; i++) deep = { d: deep };
    const r = new TextRenderer();
    r.setConfig({ maxDepth: 3 });
    const job = await runOnce(r, { data: { a: { b: { c: { d: 1 } } } } });
    expect(emitted(job)[0]!.renderedText).toBe("<a>\n  <b>\n    <c>{\"d\":1}</c>\n  </b>\n</a>");
    const deepJob = await runOnce(new TextRenderer(), { data: deep });
    expect(deepJob.status).toBe("completed");
  });

  it("refuses an unknown tag format", () => {
    expect(() => new TextRenderer().setConfig({ tagFormat: "html" })).toThrow(
      "Expected `tagFormat` of TextRenderer to be one of: xml, markdown; got `\"html\"` (string). Did you mean 'xml'?",
    );
  });
});

describe("ResultExtractor", () => {
  it("extracts the JSON of a fenced block, the last one that parses", async () => {
    const text = 'Some text\n```json\n{"key": "value"}\n```\nthen\n```json\n{"key": 2}\n```\n```json\nnot json\n```';
    const job = await runOnce(new ResultExtractor(), { data: text });
    expect(emitted(job)[0]).toMatchObject({
      extractedResult: { key: 2 },
      format: "json",
      metadata: { extractionMethod: "json_code_block", blockCount: 3, blockIndex: 1, extractor: "json_code_block", strategy: "auto" },
      extractionPath: ["json_code_block"],
    });
    expect(emitted(job)[0]!.confidence).toBeCloseTo(0.9);
  });

  it("extracts plain JSON strings, code blocks, interpreter output, objects and lists", async () => {
    const run = async (data: unknown) => emitted(await runOnce(new ResultExtractor(), { data }))[0]!;
    expect(await run('{"key": "value"}')).toMatchObject({ extractedResult: { key: "value" }, format: "json" });
    expect(await run("```python\nprint('hello')\n```")).toMatchObject({ extractedResult: "print('hello')\n", format: "python" });
    expect(await run([{ format: "output", content: "Hello" }, { format: "output", content: "World" }]))
      .toMatchObject({ extractedResult: "Hello\nWorld", format: "interpreter_output", metadata: { outputCount: 2 } });
    expect(await run({ key: "value" })).toMatchObject({ extractedResult: { key: "value" }, format: "dict" });
    expect(await run([1, 2, 3])).toMatchObject({ extractedResult: [1, 2, 3], format: "list" });
  });

  it("passes plain text on with confidence 0, or fails when told to", async () => {
    const job = await runOnce(new ResultExtractor(), { data: "Just plain text" });
    expect(emitted(job)[0]).toEqual({
      extractedResult: "Just plain text",
      format: "string",
      metadata: { extractionMethod: "none", errors: [], originalType: "string" },
      confidence: 0,
      extractionPath: [],
    });
    const strict = new ResultExtractor();
    strict.setConfig({ returnOriginalOnFailure: false });
    const failed = await runOnce(strict, { data: "Just plain text" });
    expect(failed.status).toBe("failed");
  });

  it("reads YAML when asked, and treats a value JSON cannot hold as a failed extraction", async () => {
    const r = new ResultExtractor();
    r.setConfig({ extractYamlBlocks: true });
    expect(emitted(await runOnce(r, { data: "```yaml\nname: Ada\nlangs: [en]\n```" }))[0])
      .toMatchObject({ extractedResult: { name: "Ada", langs: ["en"] }, format: "yaml" });
    const inf = emitted(await runOnce(r, { data: "```yaml\nn: .inf\n```" }))[0]!;
    expect(inf.format).toBe("yaml"); // the code_block extractor gives the text instead
    expect(inf.extractedResult).toBe("n: .inf\n");
    expect((inf.metadata as { extractor: string }).extractor).toBe("code_block");
  });

  it("with strategy all, gives every match; with a priority list, tries those first", async () => {
    const all = new ResultExtractor();
    all.setConfig({ strategy: "all" });
    const out = emitted(await runOnce(all, { data: '```json\n{"a": 1}\n```\n```python\nx = 1\n```' }))[0]!;
    expect(out).toMatchObject({ format: "multi", extractedResult: [{ a: 1 }, "x = 1\n"], extractionPath: ["json_code_block", "code_block"] });
    const both = '```json\n{"a": 1}\n```\n```python\nx = 1\n```';
    expect(emitted(await runOnce(new ResultExtractor(), { data: both }))[0]).toMatchObject({ format: "json" });
    const priority = new ResultExtractor();
    priority.setConfig({ extractorPriority: ["code_block"] });
    expect(emitted(await runOnce(priority, { data: both }))[0])
      .toMatchObject({ extractedResult: "x = 1\n", format: "python", extractionPath: ["code_block"] });
  });

  it("finds code blocks in linear time on hostile text", async () => {
    const hostile = "```json\n".repeat(100_000) + "```python ".repeat(50_000);
    const started = Date.now();
    const job = await runOnce(new ResultExtractor(), { data: hostile });
    expect(job.status).toBe("completed");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("refuses unknown extractor names and strategies when configured", () => {
    expect(() => new ResultExtractor().setConfig({ extractorPriority: ["json_block"] })).toThrow(
      /Unknown extractorPriority\[0\] 'json_block' for ResultExtractor; the known ones are: .*json_code_block/,
    );
    expect(() => new ResultExtractor().setConfig({ strategy: "best" })).toThrow(FlowDefinitionError);
  });
});
