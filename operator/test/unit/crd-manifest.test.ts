import { readFile } from "node:fs/promises";
import { describe, expect, expectTypeOf, it } from "vitest";
import { crdManifestPath, renderCrdManifest } from "../../src/crd/crd-manifest.js";
import { toYaml } from "../../src/crd/yaml.js";
import { modelDeploymentCrd } from "../../src/model-deployment/crd.js";
import type { Condition, EngineKind, EnvVar, ModelDeploymentSpec } from "../../src/model-deployment/types.js";

describe("the generated CRD", () => {
  it("is what charts/strata/crds/modeldeployment.yaml holds (run pnpm crd:gen when this fails)", async () => {
    expect(await readFile(crdManifestPath, "utf8")).toBe(renderCrdManifest());
  });

  it("keeps the validation rules and printer columns of the resource", () => {
    const version = modelDeploymentCrd.spec.versions[0]!;
    const schema = version.schema.openAPIV3Schema as any;
    const messages = (schema.properties.spec["x-kubernetes-validations"] as { message: string }[]).map(
      (rule) => rule.message,
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining("spec.replicas must lie within spec.autoscaling.minReplicas..maxReplicas"),
        expect.stringContaining("resources.gpu.count must equal serving.tensorParallelSize"),
        expect.stringContaining("spec.model.name is immutable"),
      ]),
    );
    expect(schema.properties.spec.properties.autoscaling.required).toEqual(["maxReplicas"]);
    expect(schema.properties.spec.properties.serving.properties.prefixCaching.default).toBe(true);
    expect(version.additionalPrinterColumns.map((column) => column.name)).toEqual([
      "Model",
      "Engine",
      "Ready",
      "Available",
      "Age",
    ]);
    expect(version.subresources.scale.specReplicasPath).toBe(".spec.replicas");
  });

  it("derives the operator's types from the schema", () => {
    expectTypeOf<EngineKind>().toEqualTypeOf<"vllm" | "tgi" | "sim">();
    expectTypeOf<ModelDeploymentSpec["model"]>().toEqualTypeOf<{
      name: string;
      source: string;
      revision?: string;
      tokenizer?: string;
    }>();
    expectTypeOf<NonNullable<ModelDeploymentSpec["autoscaling"]>["maxReplicas"]>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<ModelDeploymentSpec["autoscaling"]>["minReplicas"]>().toEqualTypeOf<
      number | undefined
    >();
    expectTypeOf<Condition["status"]>().toEqualTypeOf<"True" | "False" | "Unknown">();
    expectTypeOf<EnvVar>().toHaveProperty("valueFrom");
  });
});

describe("toYaml", () => {
  it("quotes strings a plain scalar would misread and writes short word lists in flow style", () => {
    expect(
      toYaml({
        words: ["vllm", "tgi"],
        status: ["True", "False"],
        version: "1.0",
        dotted: ".spec.replicas",
        number: ".5",
        empty: {},
        none: [],
        rule: "self.a == 'x'",
        path: '.items[?(@.type=="A")]',
        nested: [{ name: "a", items: { type: "string" } }],
      }),
    ).toBe(
      [
        "words: [vllm, tgi]",
        "status:",
        '  - "True"',
        '  - "False"',
        'version: "1.0"',
        "dotted: .spec.replicas",
        'number: ".5"',
        "empty: {}",
        "none: []",
        "rule: \"self.a == 'x'\"",
        "path: '.items[?(@.type==\"A\")]'",
        "nested:",
        "  - name: a",
        "    items:",
        "      type: string",
        "",
      ].join("\n"),
    );
  });

  it("refuses values a manifest cannot hold", () => {
    expect(() => toYaml({ count: Number.NaN })).toThrow("cannot write NaN");
    expect(() => toYaml([1])).toThrow("expects an object");
  });
});
