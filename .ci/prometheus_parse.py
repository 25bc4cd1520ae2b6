"""Reads a Prometheus text-format file with the official Python client's parser and prints every
family as JSON: name, type, help, and each sample's name, labels and value. A file the parser
refuses makes it exit non-zero with the parser's message on stderr."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as file:
    text = file.read()
families = []
for family in text_string_to_metric_families(text):
    families.append(
        {
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples
            ],
        }
    )
print(json.dumps(families))
