"""The graph data as pydantic models: the knowledge graph, an add-node's assignments, a
summary and a document's entity graph, exactly as they travel in S3 and out of the API.

The GPU worker (``tasks.pipeline.jobs``) checks each document against its model before
storing it, the result worker (``workers.results``) before committing it, and the API
answers with these models in ``/openapi.json``; ``graphnode schema`` prints their JSON
Schema. The pipeline itself keeps building plain dicts (fast for 100k nodes): a document is
validated once where it crosses a boundary, never node by node, and what is stored is the
document as built, so the wire JSON is exactly the pipeline's. Field names are the wire's
camelCase, as in ``graphnode.contract.messages``. Only pydantic here: the API and the result worker
import it without numpy or the pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    model_validator,
)


def _iso_datetime(value: str) -> str:
    datetime.fromisoformat(value)  # a ValueError names the bad value
    return value


#: An ISO 8601 timestamp, kept as the string the pipeline wrote (re-serialising a datetime
#: would change "+00:00" into "Z").
IsoDateTime = Annotated[str, AfterValidator(_iso_datetime), Field(json_schema_extra={
    "format": "date-time"})]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]
GeneratedBy = Literal["statistics", "llm"]


class _Document(BaseModel):
    """Documents are closed: a field the other side does not know is a version skew to see,
    not to drop silently."""

    model_config = ConfigDict(extra="forbid")


# --- the knowledge graph (GRAPH_GENERATION and ADD_NODE outputs) -----------------------------


class GraphNode(_Document):
    """One item (conversation, note, document) of the user's history."""

    id: str = Field(min_length=1)
    origId: str = Field(min_length=1, description="The item's id in the user's input.")
    clusterId: str
    clusterName: str
    keywords: list[str]
    timestamp: IsoDateTime | None
    numSections: Count = Field(description="Messages of a conversation, sections of a note.")
    sourceType: str = Field(description="chatgpt, claude, gemini, chat (flat messages), note, "
                                        "pdf, docx, pptx, markdown, text")
    title: str
    confidence: Fraction | None = Field(
        description="How surely the node belongs to its cluster; null on graphs whose node "
                    "predates confidences.")


class GraphEdge(_Document):
    """An undirected similarity link between two nodes (``source`` < ``target`` not implied)."""

    source: str
    target: str
    weight: float
    type: str = Field(description="semantic")
    isIntraCluster: bool
    confidence: Literal["high", "medium", "low"]


class Subcluster(_Document):
    """A Louvain community inside one cluster."""

    id: str
    clusterId: str
    nodeIds: list[str] = Field(min_length=1)
    representativeNodeId: str
    topKeywords: list[str]


class ClusterInfo(_Document):
    """``metadata.clusters[clusterId]``: a cluster's name, what it is about, its size."""

    name: str
    description: str
    size: Count
    keyThemes: list[str]
    labelSource: Literal["keywords", "llm"] | None = Field(
        default=None, description="Who named the cluster, when an LLM was asked to.")


class ClusterCount(_Document):
    """``metadata.clusterCount``: how the build chose its number of clusters, and how sure
    that number is. Written by the build; add-node leaves it as it was."""

    minClusters: Count
    maxClusters: Count
    chosen: Count = Field(description="Clusters the build made.")
    densityClusters: Count = Field(description="Dense topic cores HDBSCAN found.")
    margin: float | None = Field(description=(
        "Silhouette of the chosen count minus what the same count reaches on structureless "
        "data of the same spread; null when there was no other count to compare."))
    confidence: Literal["high", "medium", "low"] = Field(description=(
        "From the margin: low when no count finds clearly more structure than noise."))
    source: Literal["structure", "readable"] = Field(description=(
        "structure: the count the data's structure chose; readable: the data chose none, so "
        "about sqrt(n / 2) clusters were made, within the allowed range."))
    balanceSplits: Count = Field(description=(
        "Clusters cut into coherent pieces for holding more than the largest share allowed."))


class GraphMetadata(_Document):
    clusters: dict[str, ClusterInfo]
    clusterCount: ClusterCount | None = Field(
        default=None, description="Absent on graphs built before counts were reported.")
    totalNodes: Count
    totalEdges: Count
    createdAt: IsoDateTime
    updatedAt: IsoDateTime | None = Field(default=None, description="Set by add-node.")


class GraphDocument(_Document):
    """The knowledge graph: ``graph.json`` of a generation or add-node job."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    subclusters: list[Subcluster]
    metadata: GraphMetadata

    @model_validator(mode="after")
    def _consistent(self) -> GraphDocument:
        """Every reference resolves and the totals count what is there: the browser draws
        edges and legends by these ids, and a dangling one breaks the drawing."""
        ids = {node.id for node in self.nodes}
        if len(ids) != len(self.nodes):
            raise ValueError("node ids are not unique")
        clusters = self.metadata.clusters
        for node in self.nodes:
            if node.clusterId not in clusters:
                raise ValueError(f"node {node.id!r}: cluster {node.clusterId!r} is not in "
                                 "metadata.clusters")
        for edge in self.edges:
            if edge.source not in ids or edge.target not in ids:
                raise ValueError(f"edge {edge.source!r} - {edge.target!r} names an unknown node")
        for sub in self.subclusters:
            if sub.clusterId not in clusters or not ids.issuperset(sub.nodeIds):
                raise ValueError(f"subcluster {sub.id!r} names an unknown cluster or node")
        if (self.metadata.totalNodes, self.metadata.totalEdges) != (len(ids), len(self.edges)):
            raise ValueError("metadata.totalNodes/totalEdges do not count the nodes and edges")
        return self


# --- add-node -------------------------------------------------------------------------------


class Assignment(_Document):
    """Where one added item went, and why."""

    nodeId: str
    origId: str
    clusterId: str | None
    clusterName: str | None
    confidence: Fraction | None
    similarity: float | None = Field(description="To the chosen cluster's centroid; null "
                                                 "when the graph had no cluster.")
    reason: str
    newCluster: bool


class Assignments(RootModel[list[Assignment]]):
    """``assignments.json`` of an add-node job: one entry per item sent, in input order."""


# --- summary --------------------------------------------------------------------------------


class TimeSpan(_Document):
    start: IsoDateTime | None
    end: IsoDateTime | None


class ActivePeriod(_Document):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    count: Count


class Overview(_Document):
    totalNodes: Count
    totalEdges: Count
    totalClusters: Count
    timeSpan: TimeSpan
    primaryInterests: list[str]
    mostActivePeriod: ActivePeriod | None
    text: str
    generatedBy: GeneratedBy


class Recency(_Document):
    newest: IsoDateTime | None
    daysSince: float | None


class Trend(_Document):
    """Items in the first and last third of the graph's time span."""

    early: Count | None
    recent: Count | None
    direction: Literal["growing", "fading", "steady"] | None


class NotableConversation(_Document):
    id: str
    title: str
    weightedDegree: float


class ClusterInsight(_Document):
    clusterId: str
    name: str
    size: Count
    share: Fraction
    density: Fraction
    intraEdges: Count
    crossEdges: Count
    centrality: float
    bridgeShare: Fraction
    recency: Recency
    trend: Trend
    keywords: list[str]
    notableConversations: list[NotableConversation]
    insight: str
    generatedBy: GeneratedBy


class Connection(_Document):
    """Edges between two clusters, taken together."""

    source: str
    sourceName: str
    target: str
    targetName: str
    strength: float
    edgeCount: Count
    bridgeKeywords: list[str]


class SummaryDocument(_Document):
    """``summary.json`` of a summary job."""

    overview: Overview
    clusters: list[ClusterInsight]
    patterns: list[str]
    connections: list[Connection]
    recommendations: list[str]
    generatedBy: GeneratedBy


# --- a workspace document's entity graph (MICROSCOPE_INGEST output) -------------------------


class Entity(_Document):
    id: str = Field(description="The normalised name: one entity across chunks and documents.")
    name: str
    type: str
    mentions: Count
    chunkIds: list[str]


class Evidence(_Document):
    chunkId: str
    text: str


class Relation(_Document):
    source: str
    target: str
    type: str
    weight: Count = Field(description="Chunks that state the relation.")
    evidence: list[Evidence]


class ChunkSpan(_Document):
    id: str
    start: Count
    end: Count


class DocumentRef(_Document):
    documentId: str
    fileName: str


class DocumentGraph(_Document):
    """``graph.json`` of a microscope job: one document's entities and relations."""

    entities: list[Entity]
    relations: list[Relation]
    chunks: list[ChunkSpan]
    extraction: dict[str, Any] = Field(description="How entities were found (method, counts).")
    document: DocumentRef


class WorkspaceEntity(_Document):
    id: str
    name: str
    type: str | None
    mentions: Count
    documents: list[str] = Field(description="The documentIds that mention the entity.")


class WorkspaceEvidence(Evidence):
    documentId: str


class WorkspaceRelation(_Document):
    source: str
    target: str
    type: str
    weight: Count
    documents: list[str]
    evidence: list[WorkspaceEvidence]


class WorkspaceGraph(_Document):
    """A workspace's document graphs merged by entity id (``graphnode.contract.workspace_graph``),
    as the API answers it; built on read from stored document graphs, so not stored itself."""

    entities: list[WorkspaceEntity]
    relations: list[WorkspaceRelation]


class GraphDataError(ValueError):
    """A document that does not follow its model; the text names the field and why."""


#: The model of each kind of stored result (``graphnode.stores.ResultKind`` values).
DOCUMENT_MODELS: dict[str, type[BaseModel]] = {
    "graph": GraphDocument,
    "summary": SummaryDocument,
    "added-nodes": Assignments,
    "document-graph": DocumentGraph,
}


def check_document(model: type[BaseModel], document: Any, what: str) -> None:
    """Raise ``GraphDataError`` unless ``document`` follows ``model``; one pass, no copy kept."""
    try:
        model.model_validate(document)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}"
                    for e in exc.errors(include_url=False)[:5]]
        more = exc.error_count() - len(problems)
        raise GraphDataError(f"{what} does not follow the {model.__name__} model: "
                             + "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
                             ) from None


def graph_json_schemas() -> dict[str, Any]:
    """JSON Schema of every stored document, by model name, for ``graphnode schema``."""
    return {model.__name__: model.model_json_schema() for model in DOCUMENT_MODELS.values()}
