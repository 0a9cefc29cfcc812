/** Common English function words, left out of summaries' scoring, embeddings and key terms. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between
  both but by can could did do does doing don down during each few for from further had has have having he her here
  hers herself him himself his how however i if in into is it its itself just let me more most much must my myself
  no nor not now of off on once only or other our ours ourselves out over own said same she should so some such than
  that the their theirs them themselves then there these they this those through to too under until up upon very was
  we were what when where which while who whom why will with would yet you your yours yourself yourselves ll re ve`
    .split(/\s+/),
);
