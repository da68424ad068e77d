"""stories: dedupe fingerprints, entities and incremental story clustering; pure, no IO.

fingerprint  canonical_url, content_hash, shingles, NearDuplicateIndex
entities     extract_entities -> Entity (gazetteer + alias table in data/)
cluster      StoryClusterer.assign(ClusterItem) -> Assignment
"""
