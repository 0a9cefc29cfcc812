/** Artifacts that span chapters and go stale with edits. */
export type ArtifactKind = 'outline' | 'character';

/** One artifact: the outline has the name ''. */
export interface ArtifactKey {
  kind: ArtifactKind;
  name: string;
}

export interface StoredArtifact extends ArtifactKey {
  content: Record<string, unknown>;
  /** chapter id → version the content was built from */
  sourceVersions: Record<string, number>;
}
